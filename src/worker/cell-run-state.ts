// Where the workflow run behind a cell record stands, for the host's reconciler. A record names
// its cell and run key; the run key is the workflow's run id.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { CellRunState } from '../host/reconciler.ts';
import { CELL_WORKFLOW_TYPE, cellWorkflowId } from '../contract/index.ts';

const CLOSED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT']);

/**
 * Describes workflow `cell-<cellId>` with run id = run key. A run that is not found there (a cell
 * workflow started with another workflow id) is looked up by its run id in visibility before it is
 * called not-found. Any status but a closed one (PAUSED, UNKNOWN, ...) counts as running: when in
 * doubt, a sandbox is left alone.
 */
export function cellRunStateFrom(client: Client): (cellId: string, runKey: string) => Promise<CellRunState> {
  const stateOf = (status: string): CellRunState => (CLOSED.has(status) ? 'closed' : 'running');
  return async (cellId, runKey) => {
    try {
      const d = await client.workflow.getHandle(cellWorkflowId(cellId), runKey).describe();
      return stateOf(d.status.name);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const query = `WorkflowType = '${CELL_WORKFLOW_TYPE}' AND RunId = '${runKey.replace(/'/g, '')}'`;
    for await (const wf of client.workflow.list({ query, pageSize: 1 })) return stateOf(wf.status.name);
    return 'not-found';
  };
}
