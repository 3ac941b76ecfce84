// `cellos run <file|-> [--json] [--no-wait]`: a cell through Temporal. With TEMPORAL_ADDRESS a worker
// runs elsewhere; without it, the embedded default: the local dev server (started detached when
// needed, reused afterwards) and a worker inside this command for as long as it runs.
//
// The client validates the document when it starts the cell: an invalid one exits 3 and starts no
// workflow (on the embedded default, after the dev server and this command's worker are up).
//
// Ctrl-C (or SIGTERM): before the cell is started, stops the command and starts nothing; once it is
// started, the first one kills the cell (reason "interrupted") and waits for its outcome, a second one
// stops waiting.
import type { CellRun } from '../../client/cell-client.ts';
import type { CellResult } from '../../contract/index.ts';
import { describeOutcome } from '../../cell/outcome.ts';
import { requireHostPermissions } from '../../deno-permissions.ts';
import { openCellClient, type OpenClient } from '../client.ts';
import { ValidCell } from '../../client/valid-cell.ts';
import { readDocumentJson } from '../document-input.ts';
import { CliExit, EXIT, exitCodeForOutcome } from '../exit.ts';
import { formatSeconds, writeOutputTails } from '../format.ts';
import { workflowUiUrl, type CliIo } from '../io.ts';
import { createProgress, type Progress } from '../progress.ts';
import { resolveTemporal } from '../temporal.ts';
import type { RunningWorker } from '../worker-runtime.ts';

export interface RunOptions {
  readonly file: string;
  readonly json: boolean;
  /** Start the cell and return at once (`--no-wait`). */
  readonly wait: boolean;
}

export interface StartedCell {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly uiUrl: string | undefined;
}

export type RunOutput =
  { readonly exitCode: number; readonly result: CellResult } | { readonly exitCode: 0; readonly started: StartedCell };

const STATUS_POLL_MS = 100;
/** With no status from the workflow after this long, say what it waits for. */
const NO_WORKER_HINT_MS = 5000;

export async function run(opts: RunOptions, io: CliIo): Promise<RunOutput> {
  // Validated before anything starts (a fast exit 3); the client takes it without validating again.
  const document = ValidCell.from(await readDocumentJson(opts.file, io));
  const { clientConfigFromEnv, workerConfigFromEnv } = await import('../../worker/config.ts');
  const cfg = clientConfigFromEnv(io.env);
  // A worker runs in this command only on the embedded default; its settings are checked before anything starts.
  const workerCfg = cfg.temporal.address === undefined && opts.wait ? workerConfigFromEnv(io.env) : undefined;
  if (workerCfg) await requireHostPermissions();

  const interrupts = interruptGate(io, document.parsed.spec.id);
  let worker: RunningWorker | undefined;
  let open: OpenClient | undefined;
  try {
    const target = await interrupts.guard(resolveTemporal(cfg, io, { start: true }));
    if (target.embedded && workerCfg) {
      const { startWorker } = await import('../worker-runtime.ts');
      // One cell and gone: a warm pool would boot sandboxes for nobody and delete them on the way out.
      const oneShot = { ...workerCfg, host: { ...workerCfg.host, warmPoolSize: 0 } };
      worker = await interrupts.guard(startWorker({ cfg: oneShot, target, env: io.env, logLevel: 'WARN' }));
    }
    // With a worker here, the cell starts eagerly: its first workflow task comes back with the start.
    open = await interrupts.guard(openCellClient(cfg, target, worker));
    interrupts.stage = 'starting';
    const cellRun = await interrupts.guard(open.client.start(document));
    const started: StartedCell = {
      cellId: cellRun.cellId,
      workflowId: cellRun.workflowId,
      runId: cellRun.runId,
      uiUrl:
        target.uiBase && workflowUiUrl(target.uiBase, target.connection.namespace, cellRun.workflowId, cellRun.runId),
    };
    io.stderr.write(
      `cellos: cell ${started.cellId} started as workflow ${started.workflowId} (run ${started.runId}) on ${target.connection.address}\n` +
        (started.uiUrl ? `cellos: see it at ${started.uiUrl}\n` : ''),
    );
    if (!opts.wait) {
      if (target.embedded) {
        io.stderr.write(
          `cellos: no worker runs in this command with --no-wait: the cell goes ahead while \`cellos worker\` or \`cellos dev\` runs against ${target.connection.address}\n`,
        );
      }
      if (opts.json) io.stdout.write(`${JSON.stringify(started)}\n`);
      else io.stdout.write(`${started.workflowId} ${started.runId}\n`);
      return { exitCode: 0, started };
    }

    const result = await follow(cellRun, io, { worker, interrupts, taskQueue: cfg.taskQueue });
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      writeOutputTails(io, result.stdout, result.stderr);
      const duration = formatSeconds(Date.parse(result.endedAt) - Date.parse(result.startedAt));
      io.stderr.write(
        `cellos: cell ${result.cellId} ${describeOutcome(result.outcome)} after ${duration}${result.hostId ? ` (host ${result.hostId})` : ''}\n`,
      );
    }
    if (result.cleanupError) {
      io.stderr.write(
        `cellos: warning: the cell was not cleaned up completely (the host finishes it later): ${result.cleanupError}\n`,
      );
    }
    return { exitCode: exitCodeForOutcome(result.outcome), result };
  } finally {
    interrupts.close();
    await worker?.stop();
    await open?.close();
  }
}

type Stage = 'preparing' | 'starting' | 'following';

interface InterruptGate {
  stage: Stage;
  /** Rejects with the exit error as soon as the user gives up on the command. */
  guard<T>(p: Promise<T>): Promise<T>;
  /** Called on an interrupt while following (and at once if one came during the start). */
  onInterrupt(fn: () => void): void;
  close(): void;
}

/** What Ctrl-C does at each stage of `run` (see the top of this file); `cellId` when the document has a usable one. */
function interruptGate(io: CliIo, cellId: string | undefined): InterruptGate {
  const cell = cellId === undefined ? 'the cell' : `cell ${cellId}`;
  let count = 0;
  let handler: (() => void) | undefined;
  let giveUp: (err: CliExit) => void = () => undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  gaveUp.catch(() => undefined);
  const gate: InterruptGate = {
    stage: 'preparing',
    guard: (p) => Promise.race([p, gaveUp]),
    onInterrupt(fn) {
      gate.stage = 'following';
      handler = fn;
      if (count > 0) fn();
    },
    close: io.onStopSignal(() => {
      count += 1;
      if (gate.stage === 'preparing') {
        giveUp(new CliExit(EXIT.killed, `interrupted: ${cell} was not started`));
      } else if (count > 1) {
        giveUp(
          new CliExit(
            EXIT.killed,
            `stopped waiting for ${cell}; if it started, its kill goes ahead` +
              (cellId === undefined ? '' : ` (\`cellos status ${cellId}\` shows it)`),
          ),
        );
      } else {
        handler?.();
      }
    }),
  };
  return gate;
}

/** Waits for the result while printing phase changes; Ctrl-C kills the cell. */
async function follow(
  cellRun: CellRun,
  io: CliIo,
  opts: { worker: RunningWorker | undefined; interrupts: InterruptGate; taskQueue: string },
): Promise<CellResult> {
  const progress = createProgress(io.stderr);
  let finished = false;
  let seenStatus = false;
  opts.interrupts.onInterrupt(() => {
    progress.note(`cellos: interrupted: killing cell ${cellRun.cellId} (Ctrl-C again to stop waiting)`);
    cellRun.kill('interrupted').catch((err: unknown) => {
      progress.note(`cellos: could not send the kill: ${(err as Error).message}`);
    });
  });
  const hint = setTimeout(() => {
    if (!seenStatus && !opts.worker) {
      progress.note(
        `cellos: no worker has taken up cell ${cellRun.cellId} yet: is one running on task queue ${opts.taskQueue}? (\`cellos worker\`)`,
      );
    }
  }, NO_WORKER_HINT_MS);

  const resultPromise = cellRun.result();
  const settled = resultPromise.then(
    () => undefined,
    () => undefined,
  );
  const polling = poll(
    cellRun,
    progress,
    () => finished,
    settled,
    () => (seenStatus = true),
  );
  // The in-process worker failing would otherwise leave the result pending forever.
  const workerFailed = opts.worker
    ? opts.worker.running.then(
        () => Promise.reject(new CliExit(EXIT.failure, 'the worker in this command stopped before the cell finished')),
        (err: unknown) =>
          Promise.reject(
            new CliExit(EXIT.failure, `the worker in this command failed: ${(err as Error).message}`, { cause: err }),
          ),
      )
    : new Promise<never>(() => undefined);
  try {
    return await opts.interrupts.guard(Promise.race([resultPromise, workerFailed]));
  } finally {
    finished = true;
    clearTimeout(hint);
    await Promise.race([polling, sleep(STATUS_POLL_MS * 3)]);
    progress.finish();
  }
}

async function poll(
  cellRun: CellRun,
  progress: Progress,
  finished: () => boolean,
  settled: Promise<void>,
  onStatus: () => void,
): Promise<void> {
  while (!finished()) {
    try {
      const status = await cellRun.status();
      onStatus();
      if (!finished()) progress.update(status);
    } catch {
      // Not answerable yet (no workflow task done) or already closed: the result tells.
    }
    await Promise.race([sleep(STATUS_POLL_MS), settled]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
