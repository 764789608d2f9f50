import { arnRegions } from '../components/bedrock-arns';
import type { ResourceRecord, StackSnapshot } from './stack-snapshot';

/** What each kind of resource does in the zone: the groups inside each region's box. */
const roles: Array<[RegExp, string]> = [
  [/^aws:(dynamodb|s3)\//, 'Data'],
  [/^aws:kms\//, 'Keys'],
  [/^aws:(lambda|sqs)\//, 'Compute'],
  [/^aws:iam\//, 'Access'],
  [/^aws:codedeploy\//, 'Releases'],
  [/^aws:(apigateway|wafv2|acm|route53)\//, 'Edge'],
  [/^aws:(cloudwatch|sns)\//, 'Observability'],
  [/^pulumi:providers:/, 'Providers'],
];
const roleOf = (type: string) => roles.find(([pattern]) => pattern.test(type))?.[1] ?? 'Other';

/** Fill colours by data classification, so PHI and PII stand out at a glance. */
const classDefs = [
  'classDef phi fill:#f8d7da,stroke:#a61b29,color:#000',
  'classDef pii fill:#fff3cd,stroke:#8a6d00,color:#000',
  'classDef audit fill:#d1ecf1,stroke:#0c5460,color:#000',
  'classDef none fill:#f1f1f1,stroke:#888,color:#000',
  'classDef outside fill:#ffffff,stroke:#333,stroke-dasharray:4 3,color:#000',
];
const classOf = (classification: string) =>
  ({ 'phi-transient': 'phi', pii: 'pii', audit: 'audit' })[classification.split(' ')[0]!] ?? 'none';

const id = (text: string) => text.replace(/[^A-Za-z0-9]/g, '_');

/** The regions that hold the zone's data or process it, for the compliance README. */
export function zoneRegions(snapshot: StackSnapshot) {
  const creates = [...new Set(snapshot.resources.filter((r) => r.custom && r.region).map((r) => r.region!))].sort();
  const replicas = snapshot.config.replicaRegions;
  const worker = snapshot.resources.find(
    (r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name.endsWith('-worker-policy'),
  );
  const statements: Array<{ Action: string[]; Resource: string | string[] }> = worker
    ? JSON.parse(worker.inputs.policy).Statement
    : [];
  const modelArns = statements
    .filter((s) => s.Action.includes('bedrock:InvokeModel'))
    .flatMap((s) => [s.Resource].flat());
  return { creates: [...new Set([...creates, ...replicas])].sort(), calls: arnRegions(modelArns).sort() };
}

/** The resources a reviewer looks for by name: where data is stored, processed or keyed. */
const named = /^aws:(dynamodb\/table|s3\/bucket:Bucket|kms\/(key|replicaKey)|lambda\/function|sqs\/queue)/;
const shortName = (r: ResourceRecord) => r.name.replace(/^serenya-/, '');

/**
 * The zone at a glance (Mermaid, which code hosts render in Markdown): a box per region the zone
 * creates resources in, with a node per role and data classification (the colour) naming what
 * stores, processes or keys data and counting the rest; one node for the model, naming every
 * region its inference profile may run in; and how data flows: phone → API → users table and its
 * replicas; upload → temp bucket → worker → Bedrock; stream → audit bucket; the key of each store.
 * Every resource, with its region, is in the report's table below the diagram.
 */
export function residencyDiagram(snapshot: StackSnapshot, classificationOf: (r: ResourceRecord) => string): string {
  const { config } = snapshot;
  const cloud = snapshot.resources.filter((r) => r.custom);
  const { calls } = zoneRegions(snapshot);
  const profile = config.bedrock.modelId;
  const regions = [
    ...new Set([config.homeRegion, ...config.replicaRegions, ...cloud.map((r) => r.region!).filter(Boolean)]),
  ];
  const label = (region: string) =>
    [region === config.homeRegion && 'home', config.replicaRegions.includes(region) && 'users-table replica']
      .filter(Boolean)
      .join(', ');

  const lines = ['flowchart LR', '  phone(["Phone app (keeps the user’s records)"]):::outside'];
  const group = new Map<ResourceRecord, string>();
  for (const region of regions) {
    lines.push(`  subgraph ${id(`region ${region}`)}["${region} — ${label(region)}"]`);
    const here = cloud.filter((r) => r.region === region);
    const keys = [...new Set(here.map((r) => `${roleOf(r.type)}|${classOf(classificationOf(r))}`))].sort();
    for (const key of keys) {
      const [role, cls] = key.split('|') as [string, string];
      const members = here.filter((r) => roleOf(r.type) === role && classOf(classificationOf(r)) === cls);
      const nodeId = id(`${region} ${role} ${cls}`);
      for (const r of members) group.set(r, nodeId);
      const names = members.filter((r) => named.test(r.type)).map(shortName);
      const rest = members.length - names.length;
      const list = [...names, ...(rest ? [`${names.length ? '+ ' : ''}${rest} resource${rest === 1 ? '' : 's'}`] : [])];
      lines.push(
        `    ${nodeId}["<b>${role}</b> (${cls === 'phi' ? 'phi-transient' : cls})<br/>${list.join('<br/>')}"]:::${cls}`,
      );
    }
    if (config.replicaRegions.includes(region))
      lines.push(
        `    ${id(`replica ${region}`)}[("users table replica<br/><small>every user, this region's replica key</small>")]:::pii`,
      );
    lines.push('  end');
  }
  const modelNode = 'model';
  if (calls.length)
    lines.push(
      `  ${modelNode}{{"Bedrock ${profile}<br/><small>processes documents and chats, stores nothing</small><br/>in ${calls.join(', ')}"}}:::phi`,
    );

  const find = (type: string, match: (r: ResourceRecord) => boolean = () => true) =>
    cloud.find((r) => r.type === type && match(r));
  const ref = (r: ResourceRecord | undefined) => (r ? group.get(r) : undefined);
  const fn = (name: string) => ref(find('aws:lambda/function:Function', (r) => r.name.endsWith(`-${name}`)));
  const bucket = (classification: string) =>
    ref(find('aws:s3/bucket:Bucket', (r) => r.inputs.tags?.['data-classification'] === classification));
  const table = ref(find('aws:dynamodb/table:Table'));
  const api = ref(find('aws:apigateway/restApi:RestApi'));
  const dataKey = ref(find('aws:kms/key:Key', (r) => r.name.endsWith('-data')));
  const model = calls.length ? modelNode : undefined;
  const flows: Array<[string | undefined, string, string | undefined, boolean?]> = [
    ['phone', 'HTTPS, bearer token', api],
    [api, 'every route', fn('api')],
    [api, 'streamed chat', fn('chat')],
    [fn('api'), 'profiles, sessions, jobs', table],
    ...config.replicaRegions.map((region): [string | undefined, string, string] => [
      table,
      'global-table replication',
      id(`replica ${region}`),
    ]),
    ['phone', 'upload (presigned POST)', bucket('phi-transient')],
    [bucket('phi-transient'), 'ObjectCreated', fn('worker')],
    [fn('worker'), 'Converse, in-zone profile', model],
    [fn('chat'), 'ConverseStream, in-zone profile', model],
    [fn('worker'), 'result.json', bucket('phi-transient')],
    [table, 'stream', fn('stream')],
    [fn('stream'), 'audit events, no values', bucket('audit')],
    [dataKey, 'encrypts', table, true],
    [dataKey, 'encrypts', bucket('phi-transient'), true],
    [dataKey, 'encrypts', bucket('audit'), true],
    ...cloud
      .filter((r) => r.type === 'aws:kms/replicaKey:ReplicaKey')
      .map((r): [string | undefined, string, string, boolean] => [ref(r), 'encrypts', id(`replica ${r.region}`), true]),
  ];
  const drawn = new Set<string>();
  for (const [from, what, to, key] of flows) {
    const edge = `  ${from} ${key ? '-.->' : '-->'}|"${what}"| ${to}`;
    if (from && to && from !== to && !drawn.has(edge)) {
      drawn.add(edge);
      lines.push(edge);
    }
  }
  lines.push(...classDefs.map((d) => `  ${d}`));
  return lines.join('\n');
}

/** All zones side by side: where each creates resources and where it calls, one look. */
export function zonesOverview(
  zones: Array<{ stack: string; zone: string; allowed: string[]; creates: string[]; calls: string[] }>,
): string {
  const lines = ['flowchart LR'];
  for (const z of zones) {
    lines.push(`  subgraph ${id(`zone ${z.stack}`)}["${z.stack} (zone ${z.zone})"]`);
    lines.push(`    ${id(`${z.stack} creates`)}["creates resources in<br/>${z.creates.join(', ')}"]:::pii`);
    lines.push(`    ${id(`${z.stack} calls`)}{{"calls the model in<br/>${z.calls.join(', ')}"}}:::phi`);
    lines.push('  end');
  }
  lines.push(...classDefs.slice(0, 2).map((d) => `  ${d}`));
  return lines.join('\n');
}
