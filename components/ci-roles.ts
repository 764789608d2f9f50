/** The kinds of job that assume a CI role: a deploy on `main`, a preview on a pull request. */
export type CiRoleKind = 'deploy' | 'preview';

/** The GitHub environment a kind of job runs in: the stack's own name, `preview-<stack>` for pull requests. */
export const ciEnvironment = (kind: CiRoleKind, stack: string) => (kind === 'deploy' ? stack : `preview-${stack}`);

/**
 * A CI role's name, one per GitHub environment (`deploy/ci-trust-policy.ts` makes them). A stack's
 * deploy role is its keys' default administrator.
 */
export const ciRoleName = (kind: CiRoleKind, stack: string) => `serenya-ci-${ciEnvironment(kind, stack)}`;
