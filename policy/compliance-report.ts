import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { classificationTag } from '../components/tags';
import { asArray } from './policies';
import { runPolicies } from './policy-run';
import { residencyDiagram, zoneRegions, zonesOverview } from './residency-diagram';
import { snapshotStack, type ResourceRecord, type StackSnapshot } from './stack-snapshot';
import { stacks, type StackName } from './stack-yaml';
import { storeNotificationRows } from './store-notifications';

interface ReportRow {
  type: string;
  name: string;
  region: string;
  classification: string;
  encryption: string;
  retention: string;
}

/** A resource's classification: its own tag, else that of the tagged resource it configures. */
function classificationOf(r: ResourceRecord, all: ResourceRecord[]): string {
  const own = r.inputs.tags?.[classificationTag];
  if (own) return own;
  const references = new Set(Object.values(r.inputs).filter((v): v is string => typeof v === 'string'));
  const target = all.find(
    (o) =>
      o !== r &&
      o.inputs.tags?.[classificationTag] &&
      [o.state.id, o.state.arn, o.state.name, o.state.bucket].some((v) => references.has(v)),
  );
  return target ? `${target.inputs.tags[classificationTag]} (via ${target.name})` : 'none';
}

function encryptionOf(r: ResourceRecord, all: ResourceRecord[]): string {
  switch (r.type) {
    case 'aws:s3/bucket:Bucket': {
      const sse = all.find(
        (o) => o.type.endsWith(':BucketServerSideEncryptionConfiguration') && o.inputs.bucket === r.state.id,
      );
      const rule = sse?.inputs.rules?.[0];
      return rule ? `SSE-KMS${rule.bucketKeyEnabled ? ' with bucket key' : ''}` : 'NONE';
    }
    case 'aws:dynamodb/table:Table':
      return r.inputs.serverSideEncryption?.kmsKeyArn
        ? 'KMS (zone data key; replicas: their region’s replica key)'
        : 'AWS owned key';
    case 'aws:kms/key:Key':
      return `${r.inputs.customerMasterKeySpec ?? 'SYMMETRIC_DEFAULT'}${r.inputs.multiRegion ? ', multi-Region' : ''}${r.inputs.enableKeyRotation ? ', rotation on' : ''}`;
    case 'aws:kms/replicaKey:ReplicaKey':
      return 'replica of the data key';
    case 'aws:sqs/queue:Queue':
      return r.inputs.sqsManagedSseEnabled ? 'SQS-managed SSE' : r.inputs.kmsMasterKeyId ? 'KMS' : 'NONE';
    case 'aws:sns/topic:Topic':
      return r.inputs.kmsMasterKeyId ? 'KMS (zone data key)' : 'NONE';
    case 'aws:cloudwatch/logGroup:LogGroup':
      return r.inputs.kmsKeyId ? 'KMS' : 'CloudWatch Logs default (no PHI logged)';
    case 'aws:lambda/function:Function':
      return 'environment: AWS-managed key (names and ARNs only)';
    default:
      return '—';
  }
}

function retentionOf(r: ResourceRecord, all: ResourceRecord[]): string {
  switch (r.type) {
    case 'aws:cloudwatch/logGroup:LogGroup':
      return r.inputs.retentionInDays ? `${r.inputs.retentionInDays} days` : 'FOREVER';
    case 'aws:s3/bucket:Bucket': {
      const lifecycle = all.find(
        (o) => o.type.endsWith(':BucketLifecycleConfiguration') && o.inputs.bucket === r.state.id,
      );
      const parts = asArray<any>(lifecycle?.inputs.rules).flatMap((rule) => [
        ...asArray<any>(rule.transitions).map((t) => `${t.storageClass} after ${t.days} d`),
        ...(rule.expiration ? [`${rule.filter?.prefix ?? ''} expires after ${rule.expiration.days} d`] : []),
        ...(rule.abortIncompleteMultipartUpload
          ? [`incomplete uploads aborted after ${rule.abortIncompleteMultipartUpload.daysAfterInitiation} d`]
          : []),
      ]);
      return parts.length ? parts.join('; ') : 'no lifecycle';
    }
    case 'aws:dynamodb/table:Table':
      return `items with "${r.inputs.ttl?.attributeName}" expire (sessions 30 d, jobs 24 h); PITR ${r.inputs.pointInTimeRecovery?.enabled ? 'on (35 d)' : 'off'}`;
    case 'aws:sqs/queue:Queue':
      return `${Math.round((r.inputs.messageRetentionSeconds ?? 345600) / 86400)} days`;
    default:
      return '—';
  }
}

/** Each region the worker may invoke the model in, and the state Bedrock must be in there. */
function bedrockProcessing(snapshot: StackSnapshot) {
  const worker = snapshot.resources.find(
    (r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name.endsWith('-worker-policy'),
  );
  const statements: Array<{ Action: string[]; Resource: string | string[] }> = worker
    ? JSON.parse(worker.inputs.policy).Statement
    : [];
  const arns = statements
    .filter((st) => st.Action.includes('bedrock:InvokeModel'))
    .flatMap((st) => asArray(st.Resource));
  const regions = [...new Set(arns.map((arn) => arn.split(':')[3] ?? ''))].sort();
  const logging = snapshot.resources.some((r) => r.type.startsWith('aws:bedrock/modelInvocationLoggingConfiguration'));
  return regions.map((region) => ({
    region,
    invocationLogging: logging
      ? '**ON: the stack configures it**'
      : 'off: the stack configures none; preflight fails if the account has it',
    dataRetention: 'none: required; preflight fails otherwise',
  }));
}

function reportRows(snapshot: StackSnapshot): ReportRow[] {
  return snapshot.resources
    .filter((r) => r.custom)
    .map((r) => ({
      type: r.type,
      name: r.name,
      region: r.region ?? '(component)',
      classification: classificationOf(r, snapshot.resources),
      encryption: encryptionOf(r, snapshot.resources),
      retention: retentionOf(r, snapshot.resources),
    }))
    .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

/** Lambda code for stacks under mocks: no bundle is built. It does not change what a reviewer checks. */
export const stubCode = new pulumi.asset.AssetArchive({});

/** A stack as the reports show it: with `stubCode`, so they are deterministic. */
export const reviewedSnapshot = (stack: StackName) => snapshotStack(stack, { code: stubCode });

/** The report of one stack: JSON for tools, Markdown for people. Deterministic, so diffs are reviewable. */
export async function complianceReport(snapshot: StackSnapshot) {
  const { stack } = snapshot;
  const policies = await runPolicies(snapshot);
  const rows = reportRows(snapshot);
  const c = snapshot.config;
  const bedrock = bedrockProcessing(snapshot);
  const storeNotifications = storeNotificationRows(c);
  const json = {
    stack,
    zone: c.zone,
    homeRegion: c.homeRegion,
    replicaRegions: c.replicaRegions,
    allowedRegions: c.allowedRegions,
    modelId: c.bedrock.modelId,
    bedrock,
    storeNotifications,
    policies,
    resources: rows,
  };
  const regionsUsed = [...new Set(rows.map((r) => r.region))].sort();
  const md = [
    `# Compliance report: stack \`${stack}\` (zone \`${c.zone}\`)`,
    '',
    `Generated offline by \`npm run compliance -- ${stack}\` from \`Pulumi.${stack}.yaml\` and the program, under Pulumi mocks: what \`pulumi up\` would create, before it exists.`,
    '',
    '| | |',
    '|---|---|',
    `| Home region | ${c.homeRegion} |`,
    `| Users-table replicas | ${c.replicaRegions.join(', ') || 'none'} |`,
    `| Allowed regions | ${c.allowedRegions.join(', ')} |`,
    `| Regions of the resources below | ${regionsUsed.join(', ')} |`,
    `| Bedrock model / profile | \`${c.bedrock.modelId}\` (inference regions ${c.bedrock.inferenceRegions.join(', ')}) |`,
    `| Production safeguards | PITR ${c.pointInTimeRecovery ? 'on' : 'off'}, deletion protection ${c.deletionProtection ? 'on' : 'off'} |`,
    `| Resources | ${rows.length} |`,
    '',
    '## Where the data lives and flows',
    '',
    'The zone at a glance: a box per region it creates resources in, a node per role coloured by data classification ' +
      '(red `phi-transient`, amber `pii`, blue `audit`, grey `none`) naming what stores, processes or keys data and ' +
      'counting the rest, and the model with every region its profile may run in. Solid arrows are data flows, dotted ' +
      'ones the key each store is encrypted with. Every resource, with its region, is in [Resources](#resources) below.',
    '',
    '```mermaid',
    residencyDiagram(snapshot, (r) => classificationOf(r, snapshot.resources)),
    '```',
    '',
    '## Where documents are processed (Amazon Bedrock)',
    '',
    'The worker may invoke the model only in these regions (its IAM grant, read from the inference profile at deploy time). Bedrock keeps prompts and answers only if the account allows it: both settings are per account and region, outside the stack, so `npm run preflight` verifies them before every deploy and fails if either is on.',
    '',
    '| region | invocation logging (full prompts and answers) | data retention |',
    '|---|---|---|',
    ...bedrock.map((b) => `| ${b.region} | ${b.invocationLogging} | ${b.dataRetention} |`),
    '',
    '## Where store notifications are received and processed',
    '',
    'A user belongs to the zone of the residency they declared at onboarding; their purchases name them by a store ' +
      'account token that carries that zone, and only that zone applies a notification for them ' +
      '(docs/architecture.md, Zones).',
    '',
    '| | |',
    '|---|---|',
    ...storeNotifications.map((n) => `| ${n.topic} | ${n.where} |`),
    '',
    '## Policy results',
    '',
    '| policy | result |',
    '|---|---|',
    ...policies.map(
      (p) =>
        `| ${p.name} | ${p.violations.length ? `**FAIL**: ${p.violations.map((v) => v.message).join('<br>')}` : 'pass'} |`,
    ),
    '',
    '## Resources',
    '',
    '| type | name | region | data classification | encryption | retention |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) => `| ${r.type} | ${r.name} | ${r.region} | ${r.classification} | ${r.encryption} | ${r.retention} |`,
    ),
    '',
  ].join('\n');
  return { json, md };
}

const usage = `Usage: npm run compliance [-- <stack> …]

Writes compliance/<stack>.md and .json for each stack named (every stack when none is): a diagram of
where the zone's data lives and flows, every resource with its region, data classification,
encryption and retention, and every policy's result; then compliance/README.md, the zones side by
side. Offline: the stacks run under Pulumi's mocks. Stacks: ${stacks.join(', ')}.`;

async function main() {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) return void console.log(usage);
  const requested = args;
  const unknown = requested.filter((s) => !(stacks as readonly string[]).includes(s));
  if (unknown.length) {
    console.error(`Unknown stack ${unknown.join(', ')}; choose from ${stacks.join(', ')} (--help for more).`);
    process.exit(2);
  }
  const dir = fileURLToPath(new URL('../compliance/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const snapshots = new Map<StackName, StackSnapshot>();
  for (const stack of stacks) snapshots.set(stack, await reviewedSnapshot(stack));
  for (const stack of (requested.length ? requested : stacks) as StackName[]) {
    const { json, md } = await complianceReport(snapshots.get(stack)!);
    writeFileSync(`${dir}${stack}.json`, `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(`${dir}${stack}.md`, md);
    const failed = json.policies.filter((p) => p.violations.length).length;
    console.log(
      `compliance/${stack}.md: ${json.resources.length} resources, ${json.policies.length - failed}/${json.policies.length} policies pass`,
    );
  }
  writeFileSync(`${dir}README.md`, complianceIndex([...snapshots.values()]));
  console.log('compliance/README.md: every zone side by side');
}

/** `compliance/README.md`: every zone's regions side by side, so "EU data stays in the EU" is one look. */
export function complianceIndex(snapshots: StackSnapshot[]): string {
  const zones = snapshots.map((snapshot) => ({
    stack: snapshot.stack,
    zone: snapshot.config.zone,
    allowed: snapshot.config.allowedRegions,
    ...zoneRegions(snapshot),
  }));
  return [
    '# Compliance: every zone side by side',
    '',
    "Generated by `npm run compliance` from the stack files and the program, under Pulumi mocks; never edit by hand. Each zone's own report (resources, diagram, policies) is linked below.",
    '',
    '| stack | zone | creates resources in | calls the model in | allowed regions |',
    '|---|---|---|---|---|',
    ...zones.map(
      (z) =>
        `| [${z.stack}](${z.stack}.md) | ${z.zone} | ${z.creates.join(', ')} | ${z.calls.join(', ')} | ${z.allowed.join(', ')} |`,
    ),
    '',
    '```mermaid',
    zonesOverview(zones),
    '```',
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
