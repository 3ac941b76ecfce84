// The typed client for application code: start a cell, await it, inspect, kill, list.
import { blindIndexOf, type BlindIndex } from '../codec/blind-index.ts';
import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type ConnectionLike,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { readArtifact, type CellArtifacts, type ReadArtifactOptions } from './artifacts.ts';
import { describeCell, type CellDescription } from './describe.ts';
import { cellDetails, cellSummary } from './details.ts';
import { cellLogs, type FollowOptions, type LogChunk } from './logs.ts';
import { sandboxProgressOf } from './progress.ts';
import { CellSchedules } from './schedules.ts';
import { hasCellSearchAttributes } from './search-attributes.ts';
import { ValidCell } from './valid-cell.ts';
import { cellQuery, cellSummaryOf, type CellFilter, type CellSummary } from './visibility.ts';
import { CellDocumentError } from '../document/errors.ts';
import {
  ArtifactReadError,
  CellAlreadyRunningError,
  CellArtifactsUnavailableError,
  CellFailedError,
} from './errors.ts';
import { CELL_ID_PATTERN } from '../document/cell-id.ts';
import type { CellDocumentInput } from '../document/schema.ts';
import {
  CELL_WORKFLOW_TYPE,
  DEFAULT_TASK_QUEUE,
  cellWorkflowId,
  queries,
  signals,
  type ArtifactRecord,
  type CellResult,
  type CellStatus,
  type CellWorkflowInput,
} from '../contract/index.ts';

export interface CellClientOptions {
  /** A client Connection, or a worker's NativeConnection (needed for eagerStart). */
  readonly connection: ConnectionLike;
  /** The deployment's data converter, e.g. payload encryption (cellosDataConverter). */
  readonly dataConverter?: DataConverter | undefined;
  readonly namespace?: string;
  readonly taskQueue?: string;
  readonly hostScheduleToStartSeconds?: number;
  /**
   * Eager workflow start: the server hands the cell's first workflow task back with the start
   * response, to a worker in this process, instead of through the task queue. Only when
   * `connection` is the NativeConnection of a worker in this process that polls `taskQueue` (the
   * embedded default of `cellos run`); the SDK throws otherwise. When that worker has no free
   * workflow task slot, the start is an ordinary one. Default false.
   */
  readonly eagerStart?: boolean;
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
  /** Set by start(): whether the server handed the first workflow task straight to this process's worker. */
  readonly eagerlyStarted?: boolean;
  result(): Promise<CellResult>;
  status(): Promise<CellStatus>;
  kill(reason: string): Promise<void>;
  /** This run's output: what there is now, or (follow) as it appears until the run ends. */
  logs(opts?: FollowOptions): AsyncGenerator<LogChunk>;
}

/** How long a status query may wait for a worker to answer (describe). */
const STATUS_QUERY_DEADLINE_MS = 5000;

export class CellClient {
  readonly temporal: Client;
  readonly taskQueue: string;
  /** Cells on a schedule: create, list, describe, pause, unpause, trigger, backfill, delete. */
  readonly schedules: CellSchedules;
  private readonly hostScheduleToStartSeconds: number | undefined;
  private readonly eagerStart: boolean;
  private indexed: Promise<boolean> | undefined;
  /** With payload keys: correlation ids are searched by their blind index. */
  private readonly blindIndex: BlindIndex | undefined;

  constructor(opts: CellClientOptions) {
    this.blindIndex = blindIndexOf(opts.dataConverter);
    this.temporal = new Client({
      connection: opts.connection,
      namespace: opts.namespace ?? 'default',
      ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
    });
    this.taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
    this.hostScheduleToStartSeconds = opts.hostScheduleToStartSeconds;
    this.eagerStart = opts.eagerStart ?? false;
    this.schedules = new CellSchedules({
      temporal: this.temporal,
      taskQueue: this.taskQueue,
      workflowInput: (document, scheduleId) => this.workflowInput(document, scheduleId),
      resultOf: (workflowId, runId, cellId) => this.runHandle(cellId, workflowId, runId).result(),
    });
  }

  /**
   * Validates the document here (throws CellDocumentError; a ValidCell was validated already) and
   * starts its workflow with the document as given.
   */
  async start(document: CellDocumentInput | ValidCell | unknown, opts: StartCellOptions = {}): Promise<CellRun> {
    const cell = ValidCell.from(document);
    const doc = cell.parsed;
    const input = await this.workflowInput(cell.document, opts.scheduleId);
    const workflowId = cellWorkflowId(doc.spec.id);
    try {
      const handle = await this.temporal.workflow.start(CELL_WORKFLOW_TYPE, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        staticSummary: cellSummary(doc),
        staticDetails: cellDetails(doc),
        memo: { ...opts.memo, cellId: doc.spec.id, ...(opts.scheduleId ? { scheduleId: opts.scheduleId } : {}) },
        ...(this.eagerStart ? { requestEagerStart: true } : {}),
      });
      return {
        ...this.runHandle(doc.spec.id, workflowId, handle.firstExecutionRunId),
        eagerlyStarted: handle.eagerlyStarted,
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CellAlreadyRunningError(doc.spec.id);
      throw err;
    }
  }

  /** The input of the cell workflow for a document (not validated here: the callers do). */
  async workflowInput(document: unknown, scheduleId?: string): Promise<CellWorkflowInput> {
    return {
      document,
      taskQueue: this.taskQueue,
      scheduleId,
      hostScheduleToStartSeconds: this.hostScheduleToStartSeconds,
      indexed: await this.hasSearchAttributes(),
    };
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

  /**
   * Running cells first, then the most recently closed (visibility is eventually consistent: a change
   * shows within about a second). The filter uses the cell search attributes; without them only
   * `running`, `scheduleId`, `cellId` (its own workflow id) and `query` work, the others throw
   * SearchAttributesMissingError. `query` is a Temporal visibility query added with AND.
   */
  async list(opts: CellFilter & { limit?: number } = {}): Promise<CellSummary[]> {
    const limit = opts.limit ?? 50;
    const tokens =
      this.blindIndex && opts.correlationId !== undefined
        ? await this.blindIndex.tokens(opts.correlationId)
        : undefined;
    const query = cellQuery(opts, await this.hasSearchAttributes(), this.temporal.options.namespace, tokens);
    const out: CellSummary[] = [];
    for await (const wf of this.temporal.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
      out.push(cellSummaryOf(wf));
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * The latest run of a cell, by its id (its own workflow `cell-<id>`, or the newest run a schedule
   * started) or by a workflow id; undefined when there is none.
   */
  async findRun(ref: string): Promise<{ run: CellRun; description: WorkflowExecutionDescription } | undefined> {
    const describe = (workflowId: string, runId?: string) =>
      this.temporal.workflow
        .getHandle(workflowId, runId)
        .describe()
        .catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
    const candidates: (WorkflowExecutionDescription | undefined)[] = [await describe(cellWorkflowId(ref))];
    if (ref.startsWith('cell-')) candidates.push(await describe(ref));
    if (CELL_ID_PATTERN.test(ref) && (await this.hasSearchAttributes())) {
      // Runs started by a schedule have ids `cell-<id>-<time>`: found by their CellId.
      const listed = await this.list({ cellId: ref, limit: 10 });
      const newest = listed.sort((a, b) => +b.startTime - +a.startTime)[0];
      if (newest) candidates.push(await describe(newest.workflowId, newest.runId));
    }
    const found = candidates
      .filter((d): d is WorkflowExecutionDescription => d !== undefined && d.type === CELL_WORKFLOW_TYPE)
      .sort((a, b) => +b.startTime - +a.startTime)[0];
    if (!found) return undefined;
    return {
      run: this.runHandle(cellSummaryOf(found).cellId, found.workflowId, found.runId),
      description: found,
    };
  }

  /** The document, phases, outcome, host and sandbox of the latest run of a cell (see findRun). */
  async describe(ref: string): Promise<CellDescription | undefined> {
    const found = await this.findRun(ref);
    if (!found) return undefined;
    const { run, description } = found;
    return describeCell({
      temporal: this.temporal,
      description,
      status: () =>
        this.temporal.connection
          .withDeadline(Date.now() + STATUS_QUERY_DEADLINE_MS, () => run.status())
          .catch(() => undefined),
      result: () => run.result(),
    });
  }

  /**
   * What the latest run of a cell exported (see findRun): the records of its artifacts, never their
   * content (readArtifact reads that), and those refused with why; undefined when there is no such
   * cell. Throws CellArtifactsUnavailableError while the cell runs, or when it ended without a result.
   */
  async artifacts(ref: string): Promise<CellArtifacts | undefined> {
    const found = await this.findRun(ref);
    if (!found) return undefined;
    const { run, description } = found;
    const status = description.status.name;
    if (status === 'RUNNING') {
      throw new CellArtifactsUnavailableError(
        run.cellId,
        `cell ${run.cellId} (workflow ${run.workflowId}) is still running: its artifacts are collected when its workload ends`,
      );
    }
    let result: CellResult;
    try {
      result = await run.result();
    } catch (err) {
      if (!(err instanceof CellFailedError)) throw err;
      throw new CellArtifactsUnavailableError(
        run.cellId,
        `cell ${run.cellId} (workflow ${run.workflowId}) ended ${status} without a result${err.type ? ` (${err.type}: ${err.message})` : ''}: no artifacts were collected`,
        { cause: err },
      );
    }
    return {
      cellId: result.cellId,
      workflowId: result.workflowId,
      runId: result.runId,
      hostId: result.hostId,
      // Results of cells that ran before artifacts existed have neither.
      artifacts: result.artifacts ?? [],
      refused: result.refusedArtifacts ?? [],
    };
  }

  /**
   * An artifact's bytes, in order, from wherever its location says: its host's folder store (through
   * that host's worker, a chunk of ARTIFACT_CHUNK_MAX_BYTES at a time) or S3 (directly, with
   * CELLOS_ARTIFACTS_S3_* and AWS credentials of this process, or `opts.s3`). The size and sha256 are
   * checked once the last chunk is read: what was yielded is unverified until the iteration ends
   * without an error. Fails with ArtifactReadError (its `type` says why: expired, host down, corrupt,
   * ...), or ConfigError when an S3 artifact meets no S3 settings.
   */
  readArtifact(record: ArtifactRecord, opts: ReadArtifactOptions = {}): AsyncGenerator<Uint8Array> {
    return readArtifact({ temporal: this.temporal, taskQueue: this.taskQueue }, record, opts);
  }

  /**
   * Whether the namespace has the cell search attributes. Asked once per client: a workflow that
   * upserts an unregistered attribute fails its workflow tasks, so the workflow is told instead.
   */
  hasSearchAttributes(): Promise<boolean> {
    this.indexed ??= hasCellSearchAttributes(this.temporal);
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
      logs(opts: FollowOptions = {}) {
        return cellLogs(handle, opts);
      },
    };
  }
}

export {
  ArtifactReadError,
  CellAlreadyRunningError,
  CellArtifactsUnavailableError,
  CellDocumentError,
  CellFailedError,
};
export type { CellSummary, CellFilter, CellDescription, CellArtifacts, ReadArtifactOptions };
