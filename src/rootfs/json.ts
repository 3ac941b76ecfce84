// Parsing image metadata: JSON checked against a zod schema, refused with the first problem.
import type { z } from 'zod';
import { ImageProblem } from './errors.ts';

export function parseJson<T extends z.ZodType>(bytes: Uint8Array, schema: T, what: string): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ImageProblem('NotAnImage', `${what} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ImageProblem('NotAnImage', `${what} is not valid${at}: ${issue.message}`);
  }
  return parsed.data;
}
