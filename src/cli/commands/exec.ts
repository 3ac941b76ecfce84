// `cellos exec <file|-> [--json]`: one cell straight through this host's runsc, without Temporal.
import type { CellExit } from '../../host/cell-host.ts';
import { describeOutcome } from '../../cell/outcome.ts';
import { requireHostPermissions } from '../../deno-permissions.ts';
import { workerConfigFromEnv } from '../../worker/config.ts';
import { readCellDocument } from '../document-input.ts';
import { exitCodeForOutcome } from '../exit.ts';
import { formatSeconds, writeOutputTails } from '../format.ts';
import type { CliIo } from '../io.ts';

export interface ExecOptions {
  readonly file: string;
  readonly json: boolean;
}

export interface ExecOutput {
  readonly exitCode: number;
  readonly exit: CellExit;
}

/** Results show up to this much of each stream (the files keep up to the document's cap). */
const TAIL_BYTES = 1024 * 1024;

export async function exec(opts: ExecOptions, io: CliIo): Promise<ExecOutput> {
  // No client validates it for this command: it is validated here.
  const doc = await readCellDocument(opts.file, io);
  await requireHostPermissions();
  const cfg = workerConfigFromEnv(io.env);
  const { createCellHost, runCell } = await import('../../host/index.ts');
  // One cell: a warm pool would boot sandboxes for nobody.
  const host = await createCellHost({ ...cfg.host, outputTailBytes: TAIL_BYTES, warmPoolSize: 0 }, io.env);

  // runCell listens for the abort only once the sandbox has started: an interrupt that comes earlier
  // is held until then, so that it still kills the cell.
  const interrupt = new AbortController();
  let started = false;
  let interrupted = false;
  const stopListening = io.onStopSignal(() => {
    if (interrupted) {
      io.stderr.write('cellos: still stopping the cell and removing its sandbox\n');
      return;
    }
    interrupted = true;
    io.stderr.write(`cellos: interrupted: killing cell ${doc.spec.id}\n`);
    if (started) interrupt.abort();
  });
  let exit: CellExit;
  try {
    exit = await runCell(host, doc, {
      signal: interrupt.signal,
      onStarted: () => {
        started = true;
        if (interrupted) setTimeout(() => interrupt.abort(), 0);
      },
    });
  } finally {
    stopListening();
    host.close();
  }

  if (opts.json) {
    io.stdout.write(`${JSON.stringify(exit)}\n`);
  } else {
    writeOutputTails(io, exit.stdout, exit.stderr);
    io.stderr.write(
      `cellos: cell ${exit.cellId} ${describeOutcome(exit.outcome)} after ${formatSeconds(exit.endedAtMs - exit.startedAtMs)} (sandbox ${exit.sandboxId})\n`,
    );
  }
  return { exitCode: exitCodeForOutcome(exit.outcome), exit };
}
