// Following a cell's output from anywhere that reaches Temporal: while the cell runs, its run
// activity's heartbeat carries the tails of stdout and stderr (flushed about once a second);
// once it has ended, the captured tails are in its result.
import type { WorkflowHandle } from '@temporalio/client';
import type { OutputTail } from '../cell/output.ts';
import type { CellResult } from '../contract/index.ts';
import { sandboxProgressOf } from './progress.ts';

export interface LogChunk {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export interface FollowOptions {
  readonly follow?: boolean;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** Yields output as it appears (follow) or what there is now, then ends with the cell. */
export async function* cellLogs(handle: WorkflowHandle, opts: FollowOptions = {}): AsyncGenerator<LogChunk> {
  const printed = { stdout: 0, stderr: 0 };
  const emit = function* (stream: 'stdout' | 'stderr', out: OutputTail | undefined): Generator<LogChunk> {
    if (!out || out.bytes <= printed[stream]) return;
    const tail = new TextEncoder().encode(out.tail);
    const fresh = out.bytes - printed[stream];
    if (fresh > tail.length) {
      yield { stream, text: `[… ${fresh - tail.length} bytes not shown …]\n` };
      yield { stream, text: out.tail };
    } else {
      yield { stream, text: new TextDecoder().decode(tail.subarray(tail.length - fresh)) };
    }
    printed[stream] = out.bytes;
  };
  for (;;) {
    opts.signal?.throwIfAborted();
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') {
      if (description.status.name === 'COMPLETED') {
        const result = (await handle.result()) as CellResult;
        yield* emit('stdout', result.stdout);
        yield* emit('stderr', result.stderr);
      }
      return;
    }
    const progress = await sandboxProgressOf(description);
    yield* emit('stdout', progress?.stdout);
    yield* emit('stderr', progress?.stderr);
    if (!opts.follow) return;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
