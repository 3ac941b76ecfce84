import type { z } from 'zod';
import { CellDocumentError, type DocumentProblem } from './errors.ts';
import { checkDocumentBounds } from './bounds.ts';
import { LIMITS } from './limits.ts';
import { CellDocument } from './schema.ts';

/** Validates a document (already decoded from JSON) and applies defaults. */
export function parseCellDocument(input: unknown): CellDocument {
  checkDocumentBounds(input);
  // reportInput: problemsOf tells a missing field (input undefined) from a wrong one; the
  // input itself never leaves problemsOf. error: our wording where a schema sets none.
  const result = CellDocument.safeParse(input, { reportInput: true, error: defaultMessage });
  if (result.success) return result.data;
  throw new CellDocumentError(problemsOf(result.error));
}

/** Decodes JSON text, then validates it. */
export function parseCellDocumentText(text: string, source = 'document'): CellDocument {
  if (text.length > LIMITS.documentMaxTextBytes) {
    throw new CellDocumentError([
      { path: '(root)', message: `${source} is larger than ${LIMITS.documentMaxTextBytes} bytes (document too large)` },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CellDocumentError([
      { path: '(root)', message: `${source} is not valid JSON: ${(err as Error).message}` },
    ]);
  }
  return parseCellDocument(value);
}

export function problemsOf(error: z.ZodError): DocumentProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: messageOf(issue) }));
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((seg, i) => {
      if (typeof seg === 'number') return `[${seg}]`;
      const key = String(seg);
      // A key that is not a plain name (an env name like `A-B`) is quoted, so the path stays unambiguous.
      if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return `[${JSON.stringify(key)}]`;
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}

function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.expected === 'int') return 'must be a whole number';
    const article = /^[aeiou]/.test(issue.expected) ? 'an' : 'a';
    return `must be ${article} ${issue.expected}`;
  }
  return undefined;
}

function messageOf(issue: z.core.$ZodIssue): string {
  // zod's defaults for missing fields and unknown keys, in our words.
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) {
    return 'is required';
  }
  // A record key that breaks its rule: the key is in the path, the rule is the key schema's message.
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  if (issue.code === 'unrecognized_keys' && !issue.message.startsWith('unsupported')) {
    return `unknown field(s) ${issue.keys.join(', ')} (check the spelling; unknown fields here are refused)`;
  }
  return issue.message;
}
