// One log line per entry, for the SDK's lines and ours alike: a JSON object per line for log
// shippers (stderr is not a terminal), `time [LEVEL] message key=value ...` for people (it is).
// The first keys are the ones to filter on: cellId, hostId, phase.
import type { LogEntry } from '@temporalio/worker';

export interface LogLineOptions {
  /** JSON lines; otherwise human lines. */
  readonly json: boolean;
  /** ANSI colours for the level of a human line. */
  readonly colors?: boolean | undefined;
  /** Fields on every line (e.g. the worker's hostId); an entry's own fields win. */
  readonly fields?: Readonly<Record<string, unknown>> | undefined;
}

/** Keys listed first, in this order. */
const LEADING_KEYS = ['cellId', 'hostId', 'phase'] as const;
/** Never printed: a task token lets whoever holds it complete the activity, and it is long. */
const DROPPED_KEYS = new Set(['taskToken']);

/** The line for one entry, with its newline. */
export function formatLogLine(entry: LogEntry, opts: LogLineOptions): string {
  const fields = orderedFields({ ...opts.fields, ...entry.meta });
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  if (opts.json) return `${toJson({ time, level: entry.level, msg: entry.message, ...fields })}\n`;
  const level = opts.colors ? colorLevel(entry.level) : entry.level;
  const details = Object.entries(fields)
    .map(([k, v]) => `${k}=${humanValue(v)}`)
    .join(' ');
  return `${time} [${level}] ${entry.message}${details ? ` ${details}` : ''}\n`;
}

function orderedFields(all: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of LEADING_KEYS) if (all[k] !== undefined) out[k] = all[k];
  for (const [k, v] of Object.entries(all)) {
    if (v === undefined || DROPPED_KEYS.has(k) || k in out) continue;
    out[k] = v;
  }
  return out;
}

function humanValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Error) return JSON.stringify(`${v.name}: ${v.message}`);
  return toJson(v);
}

/** JSON.stringify that takes bigints, errors (name, message, type, stack, cause) and cycles. */
function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
      if (v instanceof Error) return errorFields(v);
    }
    return v;
  });
}

function errorFields(e: Error): Record<string, unknown> {
  const type = (e as { type?: unknown }).type;
  return {
    name: e.name,
    message: e.message,
    ...(typeof type === 'string' ? { type } : {}),
    stack: e.stack,
    ...(e.cause !== undefined ? { cause: e.cause } : {}),
  };
}

function colorLevel(level: string): string {
  const code = level === 'ERROR' ? 31 : level === 'WARN' ? 33 : level === 'INFO' ? 36 : 90;
  return `\u001b[${code}m${level}\u001b[39m`;
}
