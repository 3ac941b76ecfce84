// Parsing image metadata: JSON checked against a zod schema, refused with the first problem.
// The bytes come from a host file that may be no image at all, so a refusal never quotes them:
// JSON.parse's own message does ("Unexpected token 'r', "root:x:0:0"... is not valid JSON"), and
// a key of a record may be anything. Only the position, indexes and the schema's own keys are shown.
import type { z } from 'zod';
import { ImageProblem } from './errors.ts';

export function parseJson<T extends z.ZodType>(bytes: Uint8Array, schema: T, what: string): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ImageProblem(
      'NotAnImage',
      `${what} is not valid JSON${position === undefined ? '' : ` (at byte ${position})`}`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) =>
      typeof p === 'number' || /^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(String(p)) ? String(p) : '…',
    );
    const at = path.length > 0 ? ` at ${path.join('.')}` : '';
    // zod's messages name expected types and the schema's own values; unrecognized_keys (strict
    // objects only, none here) would list the input's keys.
    const message = issue.code === 'unrecognized_keys' ? 'unknown keys' : issue.message;
    throw new ImageProblem('NotAnImage', `${what} is not valid${at}: ${message}`);
  }
  return parsed.data;
}
