// `cellos kill <cell-id> [--reason TEXT]`: asks the running cell's workflow to kill it (SIGTERM,
// its grace, then SIGKILL); the outcome says "killed on request: <reason>".
import { findCellRun, withCellClient } from '../client.ts';
import { failure } from '../exit.ts';
import type { CliIo } from '../io.ts';

export interface KillOptions {
  readonly cellId: string;
  readonly reason: string;
}

export interface KillOutput {
  readonly exitCode: 0;
  readonly workflowId: string;
  readonly runId: string;
}

export async function kill(opts: KillOptions, io: CliIo): Promise<KillOutput> {
  return withCellClient(io, async ({ client }, target) => {
    const { WorkflowNotFoundError } = await import('@temporalio/client');
    const found = await findCellRun(client, target, opts.cellId);
    const desc = found.description;
    const workflowId = desc.workflowId;
    if (desc.status.name !== 'RUNNING') {
      throw failure(`cell ${opts.cellId} is not running: its latest run ${desc.runId} is ${desc.status.name}`);
    }
    await found.run.kill(opts.reason).catch((err: unknown) => {
      // It ended between the two calls.
      if (err instanceof WorkflowNotFoundError) throw failure(`cell ${opts.cellId} is not running any more`);
      throw err;
    });
    io.stderr.write(
      `cellos: kill sent to cell ${opts.cellId} (workflow ${workflowId} run ${desc.runId}): SIGTERM, then SIGKILL after its grace\n`,
    );
    return { exitCode: 0, workflowId, runId: desc.runId };
  });
}
