// How an error thrown on a host leaves an activity: one that declares its cell failure type (see
// failureTypeOf in the contract) becomes a non-retryable ApplicationFailure of that type; any other
// error is left to the retry policy.
import { ApplicationFailure } from '@temporalio/activity';
import { failureTypeOf } from '../src/contract/index.ts';

export function toActivityFailure(err: unknown): unknown {
  const type = failureTypeOf(err);
  if (type === undefined) return err;
  const problems = (err as { problems?: unknown }).problems;
  return ApplicationFailure.create({
    type,
    message: (err as Error).message,
    nonRetryable: true,
    details: problems === undefined ? undefined : [problems],
  });
}

export function asActivityFailure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}

export async function asActivityFailureAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}
