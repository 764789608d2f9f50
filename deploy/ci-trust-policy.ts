import { fileURLToPath } from 'node:url';
import { functionNames } from '../components/function-roles';
import { ciEnvironment, ciRoleName, type CiRoleKind } from '../components/ci-roles';
import { stacks, type StackName } from '../policy/stack-yaml';
import { releaseTimeoutMs } from './release';

/**
 * The IAM roles CI assumes through GitHub's OIDC provider: one per GitHub environment, so a job can
 * only get the role of the environment it runs in (`sub` = `repo:<owner>/<repo>:environment:<env>`),
 * and the environment's protection rules (reviewers, branch `main`) stand before every credential.
 * `.github/workflows/` and `test/unit/workflows.test.ts` read the environment names and session lengths here.
 */

/** GitHub Actions' token issuer, which is also the prefix of its IAM condition keys. */
export const githubOidcIssuer = 'token.actions.githubusercontent.com';
/** The audience aws-actions/configure-aws-credentials asks GitHub for. */
export const githubOidcAudience = 'sts.amazonaws.com';
/** AWS's bounds on a role's MaxSessionDuration. */
export const maxSessionDurationBounds = { min: 3600, max: 43_200 } as const;

export { ciEnvironment, type CiRoleKind };

/** The workflow file whose job assumes each kind of role. */
export const ciWorkflow: Record<CiRoleKind, string> = { deploy: 'deploy-zone.yml', preview: 'pull-request.yml' };

const minutes = (ms: number) => ms / 60_000;

/**
 * What one zone's deploy job may take, and so how long its credentials must last (they are not
 * refreshed): checkout, install, preflight and preview; `pulumi up` (a first deploy waits on
 * certificate validation and replica tables); then each function's release, one after the other,
 * each waited on for up to `releaseTimeoutMs` (a canary shift plus its bake time).
 */
const deployJobMinutes = {
  setupAndPreview: 30,
  up: 60,
  releases: functionNames.length * minutes(releaseTimeoutMs),
};

/** The job timeout of each kind of job, in minutes; the credentials last exactly as long. */
export const ciJobMinutes: Record<CiRoleKind, number> = {
  deploy: deployJobMinutes.setupAndPreview + deployJobMinutes.up + deployJobMinutes.releases,
  preview: 30,
};

/** `role-duration-seconds` the workflow asks for: the whole job, since nothing refreshes the credentials. */
export const ciSessionSeconds = (kind: CiRoleKind) => ciJobMinutes[kind] * 60;

/** The role's MaxSessionDuration: at least the session the job asks for (AWS refuses a longer one). */
export function ciMaxSessionDuration(kind: CiRoleKind): number {
  const seconds = ciSessionSeconds(kind);
  if (seconds > maxSessionDurationBounds.max) {
    throw new Error(
      `a ${kind} job needs a ${seconds} s session, over IAM's ${maxSessionDurationBounds.max} s: ` +
        'shorten the release wait (releaseTimeoutMs) or release fewer functions per job',
    );
  }
  return Math.max(maxSessionDurationBounds.min, seconds);
}

interface CiRoleTarget {
  /** `owner/repo` on GitHub. */
  repository: string;
  /** The AWS account holding the role and GitHub's OIDC provider. */
  accountId: string;
  kind: CiRoleKind;
  stack: StackName;
}

/**
 * The role's trust policy. Deploy roles also require the token's `ref` to be `main` and its
 * `job_workflow_ref` to be the deploy workflow on `main`, so a misconfigured environment still
 * cannot hand a deploy role to another branch or workflow. Preview roles trust the pull request's
 * environment only; they are read-only (see docs/ci-cd.md).
 */
export function ciTrustPolicy({ repository, accountId, kind, stack }: CiRoleTarget) {
  const key = (claim: string) => `${githubOidcIssuer}:${claim}`;
  const claims: Record<string, string> = {
    [key('aud')]: githubOidcAudience,
    [key('sub')]: `repo:${repository}:environment:${ciEnvironment(kind, stack)}`,
  };
  if (kind === 'deploy') {
    claims[key('ref')] = 'refs/heads/main';
    claims[key('job_workflow_ref')] = `${repository}/.github/workflows/${ciWorkflow.deploy}@refs/heads/main`;
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::${accountId}:oidc-provider/${githubOidcIssuer}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: claims },
      },
    ],
  };
}

/** Every CI role of a repository, as `aws iam create-role` takes it. */
function ciRoles(repository: string, accountId: string) {
  return (['deploy', 'preview'] as const).flatMap((kind) =>
    stacks.map((stack) => ({
      RoleName: ciRoleName(kind, stack),
      environment: ciEnvironment(kind, stack),
      MaxSessionDuration: ciMaxSessionDuration(kind),
      AssumeRolePolicyDocument: ciTrustPolicy({ repository, accountId, kind, stack }),
    })),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [repository, accountId] = process.argv.slice(2);
  if (!repository?.includes('/') || !/^\d{12}$/.test(accountId ?? '')) {
    console.error('usage: npx tsx deploy/ci-trust-policy.ts <owner/repo> <12-digit account id>');
    process.exitCode = 2;
  } else console.log(JSON.stringify(ciRoles(repository, accountId), null, 2));
}
