import { reviewedSnapshot } from '../../policy/compliance-report';
import type { StackSnapshot } from '../../policy/stack-snapshot';
import type { StackName } from '../../policy/stack-yaml';

export { stubCode } from '../../policy/compliance-report';

const shipped = new Map<StackName, Promise<StackSnapshot>>();
/**
 * A stack as its file ships it (`SET-ME` values filled in), under Pulumi's mocks with stub code:
 * what the compliance reports show. Most test files read these same three, so each test worker makes
 * each once and freezes it: a test that wants a changed stack calls `snapshotStack` with its change.
 */
export function zoneSnapshot(stack: StackName): Promise<StackSnapshot> {
  if (!shipped.has(stack)) shipped.set(stack, reviewedSnapshot(stack).then(deepFreeze));
  return shipped.get(stack)!;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The snapshot's resources of one Pulumi type. */
export const ofType = (s: StackSnapshot, type: string) => s.resources.filter((r) => r.type === type);
