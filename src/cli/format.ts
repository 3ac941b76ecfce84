// Words and layout of what the commands print. Pure.
import { describeOutcome } from '../cell/outcome.ts';
import type { OutputTail } from '../cell/output.ts';
import type { CellStatus, PhaseDurations } from '../contract/index.ts';
import type { CliIo } from './io.ts';

export function formatSeconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One line for a status: `running on host H (sandbox S)`. */
export function describeStatus(status: CellStatus): string {
  // A string, not the CellPhase union: a newer worker may report a phase this client does not know.
  const phase: string = status.phase;
  const host = status.hostId ?? '?';
  switch (phase) {
    case 'placing':
      return 'validating';
    case 'queued':
      return 'queued: waiting for a host with room';
    case 'running':
      return status.sandboxStartedAt === undefined
        ? `starting on host ${host}`
        : `running on host ${host} (sandbox ${status.sandboxId})`;
    case 'killing':
      return `killing (${status.killRequested !== undefined ? `requested: ${status.killRequested}` : 'its deadline passed'})`;
    case 'cleaning-up':
      return 'cleaning up';
    case 'done':
      return status.outcome ? `done: ${describeOutcome(status.outcome)}` : 'done';
    default:
      return phase;
  }
}

/** The captured output: stdout to stdout, stderr to stderr, and a note where it is only a tail. */
export function writeOutputTails(io: Pick<CliIo, 'stdout' | 'stderr'>, stdout: OutputTail, stderr: OutputTail): void {
  if (stdout.tail) io.stdout.write(stdout.tail);
  if (stderr.tail) io.stderr.write(stderr.tail);
  for (const [name, o] of [
    ['stdout', stdout],
    ['stderr', stderr],
  ] as const) {
    const shown = new TextEncoder().encode(o.tail).length;
    const notes: string[] = [];
    if (shown < o.bytes) notes.push(`showing the last ${shown} of ${o.bytes} bytes captured`);
    if (o.droppedBytes > 0) notes.push(`${o.droppedBytes} bytes past the document's cap were dropped`);
    if (notes.length > 0) io.stderr.write(`cellos: ${name}: ${notes.join('; ')}\n`);
  }
}

/** Milliseconds as a short duration: 12ms, 1.02s, 2m05s. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : formatSeconds(ms);
}

/** A time as `2026-01-02 03:04:05Z` (UTC, whole seconds). */
export function formatTime(time: Date | string | undefined): string {
  if (time === undefined) return '-';
  const d = typeof time === 'string' ? new Date(time) : time;
  return Number.isNaN(+d) ? '-' : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Phases in the order a cell goes through them: `placing 12ms, queued 3ms, starting 210ms, running 1.02s, cleanup 40ms`. */
export function formatPhases(phases: PhaseDurations): string {
  const order: (keyof PhaseDurations)[] = ['placing', 'queued', 'starting', 'running', 'killing', 'cleanup'];
  const parts = order.flatMap((p) => (phases[p] === undefined ? [] : [`${p} ${formatMs(phases[p])}`]));
  return parts.length > 0 ? parts.join(', ') : '-';
}

/** Rows as columns padded to their widest cell (the last column is not padded). */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * A document's free text (a correlation id) for a terminal table: backslashes, spaces and control
 * characters written as `\\` and `\uXXXX`, so a value can neither move the cursor nor look like two
 * columns, and reads back unambiguously.
 */
export function printable(text: string): string {
  return text.replace(/[\\\u0000-\u0020\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
