import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB's two ways of saying "your condition did not hold", read the same way everywhere.
 */

/** A conditional write's result, or `otherwise` when its condition did not hold; any other error is thrown. */
export async function unlessConditionFails<T, F>(write: Promise<T>, otherwise: F): Promise<T | F> {
  try {
    return await write;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return otherwise;
    throw err;
  }
}

/** Transaction cancellation reasons by the name of each item, not by position. */
export function cancellationReasons<N extends string>(
  names: readonly N[],
  err: { CancellationReasons?: Array<{ Code?: string }> },
): Record<N, string | undefined> {
  const reasons = err.CancellationReasons ?? [];
  return Object.fromEntries(
    names.map((name, i) => [name, reasons[i]?.Code === 'None' ? undefined : reasons[i]?.Code]),
  ) as Record<N, string | undefined>;
}
