// The typed client for application code: start a cell, await it, inspect, kill, list.
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Connection } from '@temporalio/client';
import { cellLogs, type FollowOptions, type LogChunk } from './logs.ts';
import { sandboxProgressOf } from './progress.ts';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.ts';
import { CellDocumentError } from '../document/errors.ts';
import { parseCellDocument } from '../document/parse.ts';
import type { CellDocumentInput } from '../document/schema.ts';
import {
  CELL_WORKFLOW_TYPE,
  DEFAULT_TASK_QUEUE,
  cellWorkflowId,
  queries,
  signals,
  type CellResult,
  type CellStatus,
  type CellWorkflowInput,
} from '../shared.ts';

export class CellAlreadyRunningError extends Error {
  override readonly name = 'CellAlreadyRunningError';
  readonly cellId: string;
  constructor(cellId: string) {
    super(
      `cell ${cellId} is already running (workflow ${cellWorkflowId(cellId)}); wait for it to finish or kill it first`,
    );
    this.cellId = cellId;
  }
}

/** The cell workflow failed instead of completing with an outcome. */
export class CellFailedError extends Error {
  override readonly name = 'CellFailedError';
  readonly cellId: string;
  readonly type: string | undefined;
  constructor(cellId: string, type: string | undefined, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.cellId = cellId;
    this.type = type;
  }
}

export interface CellClientOptions {
  readonly connection: Connection;
  readonly namespace?: string;
  readonly taskQueue?: string;
  readonly hostScheduleToStartSeconds?: number;
}

export interface StartCellOptions {
  readonly scheduleId?: string;
  /** Extra memo shown in the UI. */
  readonly memo?: Record<string, unknown>;
}

export interface CellRun {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  result(): Promise<CellResult>;
  status(): Promise<CellStatus>;
  kill(reason: string): Promise<void>;
}

export interface CellSummary {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly status: string;
  readonly startTime: Date;
  readonly closeTime: Date | undefined;
}

export class CellClient {
  readonly temporal: Client;
  readonly taskQueue: string;
  private readonly hostScheduleToStartSeconds: number | undefined;
  private indexed: Promise<boolean> | undefined;

  constructor(opts: CellClientOptions) {
    this.temporal = new Client({ connection: opts.connection, namespace: opts.namespace ?? 'default' });
    this.taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
    this.hostScheduleToStartSeconds = opts.hostScheduleToStartSeconds;
  }

  /** Validates the document here (throws CellDocumentError) and starts its workflow. */
  async start(document: CellDocumentInput | unknown, opts: StartCellOptions = {}): Promise<CellRun> {
    const doc = parseCellDocument(document);
    const input: CellWorkflowInput = {
      document,
      taskQueue: this.taskQueue,
      scheduleId: opts.scheduleId,
      hostScheduleToStartSeconds: this.hostScheduleToStartSeconds,
      indexed: await this.hasSearchAttributes(),
    };
    const workflowId = cellWorkflowId(doc.spec.id);
    try {
      const handle = await this.temporal.workflow.start(CELL_WORKFLOW_TYPE, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        staticSummary: `cell ${doc.spec.id}: ${doc.spec.run.argv.join(' ').slice(0, 200)}`,
        ...(opts.memo ? { memo: opts.memo } : {}),
      });
      return this.runHandle(doc.spec.id, workflowId, handle.firstExecutionRunId);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CellAlreadyRunningError(doc.spec.id);
      throw err;
    }
  }

  /** Starts a cell and waits for its result. */
  async run(document: CellDocumentInput | unknown, opts: StartCellOptions = {}): Promise<CellResult> {
    return (await this.start(document, opts)).result();
  }

  /** The latest run of a cell id. */
  getHandle(cellId: string, runId?: string): CellRun {
    return this.runHandle(cellId, cellWorkflowId(cellId), runId);
  }

  async status(cellId: string): Promise<CellStatus> {
    return this.getHandle(cellId).status();
  }

  /** A cell's output: what there is now, or (follow) as it appears until the cell ends. */
  logs(cellId: string, opts: FollowOptions = {}): AsyncGenerator<LogChunk> {
    return cellLogs(this.temporal.workflow.getHandle(cellWorkflowId(cellId)), opts);
  }

  async kill(cellId: string, reason: string): Promise<void> {
    await this.getHandle(cellId).kill(reason);
  }

  /** Recent cells, newest first. `query` is a Temporal visibility query added to the type filter. */
  async list(opts: { limit?: number; query?: string } = {}): Promise<CellSummary[]> {
    const query = [`WorkflowType = '${CELL_WORKFLOW_TYPE}'`, opts.query].filter(Boolean).join(' AND ');
    const out: CellSummary[] = [];
    for await (const wf of this.temporal.workflow.list({ query, pageSize: Math.min(opts.limit ?? 50, 1000) })) {
      out.push({
        cellId: wf.workflowId.replace(/^cell-/, ''),
        workflowId: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        startTime: wf.startTime,
        closeTime: wf.closeTime,
      });
      if (out.length >= (opts.limit ?? 50)) break;
    }
    return out;
  }

  /**
   * Whether the namespace has the cell search attributes. Asked once per client: a workflow that
   * upserts an unregistered attribute fails its workflow tasks, so the workflow is told instead.
   */
  hasSearchAttributes(): Promise<boolean> {
    this.indexed ??= this.temporal.connection.operatorService
      .listSearchAttributes({ namespace: this.temporal.options.namespace })
      .then(
        (res) => SEARCH_ATTRIBUTES.every((a) => a.name in (res.customAttributes ?? {})),
        () => false,
      );
    return this.indexed;
  }

  private runHandle(cellId: string, workflowId: string, runId: string | undefined): CellRun {
    const handle = this.temporal.workflow.getHandle(workflowId, runId);
    return {
      cellId,
      workflowId,
      runId: runId ?? '',
      async result() {
        try {
          return (await handle.result()) as CellResult;
        } catch (err) {
          if (err instanceof WorkflowFailedError) {
            const cause = err.cause as { type?: string; message?: string } | undefined;
            throw new CellFailedError(cellId, cause?.type, cause?.message ?? err.message, { cause: err });
          }
          throw err;
        }
      },
      async status() {
        // The sandbox's start is known first to the host: it is in the run activity's heartbeat.
        const [status, description] = await Promise.all([
          handle.query<CellStatus>(queries.status),
          handle.describe().catch(() => undefined),
        ]);
        if (status.sandboxStartedAt !== undefined || !description) return status;
        const progress = await sandboxProgressOf(description);
        return progress ? { ...status, sandboxStartedAt: new Date(progress.startedAtMs).toISOString() } : status;
      },
      async kill(reason: string) {
        await handle.signal(signals.kill, { reason });
      },
    };
  }
}

export { CellDocumentError };
