// The command line of one command: parsed against its declaration (node:util parseArgs), and the
// checks its flags and arguments share. Every problem is a usage error (exit 1) naming the flag and
// the bad value.
import { parseArgs } from 'node:util';
import { isCellId } from '../document/cell-id.ts';
import { LIMITS } from '../document/limits.ts';
import type { Command, Value, Values } from './command.ts';
import { usageError } from './exit.ts';

/** The flags and positional arguments of `args` for `c`; refuses unknown flags and a wrong number of arguments. */
export function parseCommandLine(
  c: Command<unknown>,
  args: readonly string[],
): { values: Values; positionals: string[] } {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: c.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw usageError(`${(err as Error).message.split('\n')[0]}\nusage: ${c.usage}`);
  }
  const optional = c.optionalPositionals ?? [];
  const count = parsed.positionals.length;
  if (count < c.positionals.length || count > c.positionals.length + optional.length) {
    const names = [...c.positionals.map((p) => `<${p}>`), ...optional.map((p) => `[${p}]`)];
    const want = names.length === 0 ? 'no arguments' : names.join(' ');
    const got = parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => JSON.stringify(p)).join(' ');
    throw usageError(`expected ${want}, got ${got}\nusage: ${c.usage}`);
  }
  return parsed;
}

/** A string flag's value; refuses an empty one. */
export function stringFlag(flag: string, value: Value): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw usageError(`${flag} must not be empty`);
  return value;
}

/** A whole number from `min` to `max`, or undefined when the flag is not given. */
export function intFlag(flag: string, value: Value, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max) {
    throw usageError(`${flag} ${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A required ISO 8601 time (`2026-01-02T03:00:00Z`). */
export function timeFlag(flag: string, value: Value): Date {
  const text = stringFlag(flag, value);
  if (text === undefined) throw usageError(`${flag} TIME is required`);
  const time = new Date(text);
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(+time)) {
    throw usageError(`${flag} ${JSON.stringify(text)} is not an ISO 8601 time (e.g. 2026-01-02T03:00:00Z)`);
  }
  return time;
}

/** An id with the rules of a cell id (a cell id, a host id); `what` names it in the message. */
export function idArg(what: string, id: string): string {
  if (!isCellId(id)) {
    throw usageError(
      `${what} ${JSON.stringify(id)} is invalid: 1-${LIMITS.cellIdMaxLength} letters, digits, _ . - starting with a letter or digit`,
    );
  }
  return id;
}

export function cellIdArg(id: string): string {
  return idArg('cell id', id);
}

/** The workflow id of one run: `cell-<id>`, or `cell-<id>-<time>` for one a schedule started. */
const WORKFLOW_ID = /^cell-[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** A cell id, or the workflow id of one of its runs. */
export function cellRefArg(ref: string): string {
  if (ref.length <= LIMITS.cellIdMaxLength + 30 && WORKFLOW_ID.test(ref)) return ref;
  return cellIdArg(ref);
}
