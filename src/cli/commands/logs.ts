// `cellos logs <cell-id|workflow-id> [-f]`: the captured output of the latest run of a cell, stdout to
// stdout and stderr to stderr. With -f, follows a running cell (its output rides on the run activity's
// heartbeat, about once a second) until it ends; Ctrl-C stops following.
import type { CellRun } from '../../client/cell-client.ts';
import { findCellRun, withCellClient } from '../client.ts';
import { EXIT } from '../exit.ts';
import { describeStatus } from '../format.ts';
import type { CliIo } from '../io.ts';
import { createProgress, type Progress } from '../progress.ts';

export interface LogsOptions {
  /** A cell id, or the workflow id of one run. */
  readonly ref: string;
  readonly follow: boolean;
}

const POLL_MS = 250;

export async function logs(opts: LogsOptions, io: CliIo): Promise<{ readonly exitCode: number }> {
  return withCellClient(io, async ({ client }, target) => {
    const found = await findCellRun(client, target, opts.ref);
    const { run } = found;
    const abort = new AbortController();
    const stopListening = io.onStopSignal(() => abort.abort());
    // On a terminal, say what the cell is doing until its first output; piped, stderr carries only its stderr.
    const progress = opts.follow && io.stderr.isTTY ? createProgress(io.stderr) : undefined;
    let printed = false;
    const watching = progress ? watchPhase(run, progress, () => printed || abort.signal.aborted) : undefined;
    try {
      for await (const chunk of run.logs({ follow: opts.follow, pollMs: POLL_MS, signal: abort.signal })) {
        if (!printed) {
          printed = true;
          progress?.finish();
        }
        (chunk.stream === 'stdout' ? io.stdout : io.stderr).write(chunk.text);
      }
    } catch (err) {
      if (abort.signal.aborted) return { exitCode: EXIT.killed };
      throw err;
    } finally {
      printed = true;
      stopListening();
      progress?.finish();
      await watching;
    }
    if (found.description.status.name !== 'RUNNING' && found.description.status.name !== 'COMPLETED') {
      io.stderr.write(
        `cellos: cell ${run.cellId} (workflow ${run.workflowId}) ended ${found.description.status.name} without a result: no output was recorded\n`,
      );
    }
    return { exitCode: 0 };
  });
}

async function watchPhase(run: CellRun, progress: Progress, done: () => boolean): Promise<void> {
  progress.set(`waiting for output of cell ${run.cellId}`);
  while (!done()) {
    const status = await run.status().catch(() => undefined);
    if (status && !done()) progress.set(`waiting for output of cell ${run.cellId}: ${describeStatus(status)}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
