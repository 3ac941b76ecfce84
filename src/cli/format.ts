// Words and layout of what the commands print. Pure.
import { describeOutcome } from '../cell/outcome.ts';
import type { OutputTail } from '../cell/output.ts';
import type { CellResultOutcome, CellStatus } from '../shared.ts';
import type { CliIo } from './io.ts';

/** describeOutcome, plus the outcomes only a workflow has. */
export function describeResultOutcome(outcome: CellResultOutcome): string {
  switch (outcome.kind) {
    case 'cancelled':
      return `cancelled: ${outcome.reason}`;
    case 'host-lost':
      return `host lost: ${outcome.reason}`;
    default:
      return describeOutcome(outcome);
  }
}

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
    case 'validating':
      return 'validating the document';
    case 'placing':
      return 'placing on a host';
    case 'starting':
      return `starting on host ${host}`;
    case 'running':
      return status.sandboxStartedAt === undefined
        ? `starting on host ${host}`
        : `running on host ${host} (sandbox ${status.sandboxId})`;
    case 'killing':
      return `killing (${status.killRequested !== undefined ? `requested: ${status.killRequested}` : 'its deadline passed'})`;
    case 'cleaning-up':
      return 'cleaning up';
    case 'done':
      return status.outcome ? `done: ${describeResultOutcome(status.outcome)}` : 'done';
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
