// The `cellos` command: declares commands and flags, lazily loads the handler of the one asked for,
// and turns what it returns or throws into an exit code (see ./exit.ts). The only place that calls
// process.exit.
//
// Node runs the compiled file through bin/cellos.js; Deno runs this file as it is:
//   deno run -A --node-modules-dir=manual src/cli/main.ts <command> ...
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CELL_ID_PATTERN } from '../document/schema.ts';
import { LIMITS } from '../document/limits.ts';
import { toCliExit } from './errors.ts';
import { CliExit, EXIT, usageError } from './exit.ts';
import type { CliIo, StopSignal } from './io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;
type Handler<O> = (opts: O, io: CliIo) => Promise<{ readonly exitCode: number }>;

interface Command<O> {
  readonly summary: string;
  readonly usage: string;
  /** Lines after the usage in --help. */
  readonly details: readonly string[];
  readonly options: Options;
  readonly positionals: readonly string[];
  normalize(values: Values, positionals: readonly string[]): O;
  load(): Promise<Handler<O>>;
}

const command = <O>(c: Command<O>): Command<unknown> => c as Command<unknown>;

const json = { type: 'boolean' } as const;

const DEFAULT_KILL_REASON = 'requested with cellos kill';

const DOCUMENT_ARG = '<file|->        the ExecutionCell document (JSON); - reads it from stdin';

export const commands: Record<string, Command<unknown>> = {
  bundle: command({
    summary: 'write the OCI bundle config.json a host would use for a document',
    usage: 'cellos bundle <file|-> --out DIR [--run-key K]',
    details: [
      DOCUMENT_ARG,
      '--out DIR       folder for config.json (mode 0600: it may hold secrets); created if missing',
      '--run-key K     run key for the sandbox id (random by default, as for a real run)',
      '',
      'The rootfs is spec.run.rootfs.path, else CELLOS_DEFAULT_ROOTFS; the cgroup path is the one this host uses.',
    ],
    options: { out: { type: 'string' }, 'run-key': { type: 'string' } },
    positionals: ['file'],
    normalize: (v, [file]) => {
      if (typeof v.out !== 'string' || v.out === '') throw usageError('--out DIR is required');
      if (v['run-key'] === '') throw usageError('--run-key must not be empty');
      return { file: file!, outDir: v.out, runKey: v['run-key'] as string | undefined };
    },
    load: async () => (await import('./commands/bundle.ts')).bundle,
  }),
  exec: command({
    summary: 'run one cell directly on this host (no Temporal) and exit with its code',
    usage: 'cellos exec <file|-> [--json]',
    details: [
      DOCUMENT_ARG,
      '--json          print the cell exit (outcome, output tails, times) as JSON instead of its output',
      '',
      'Prints the captured stdout and stderr when the cell ends. Ctrl-C kills the cell and cleans up.',
      'Host settings come from the environment (CELLOS_STATE_DIR, CELLOS_DEFAULT_ROOTFS, CELLOS_RUNSC, ...).',
    ],
    options: { json },
    positionals: ['file'],
    normalize: (v, [file]) => ({ file: file!, json: v.json === true }),
    load: async () => (await import('./commands/exec.ts')).exec,
  }),
  run: command({
    summary: 'run a cell through Temporal and exit with its code',
    usage: 'cellos run <file|-> [--json] [--no-wait]',
    details: [
      DOCUMENT_ARG,
      '--json          print the CellResult as JSON (stdout holds nothing else)',
      '--no-wait       start the cell, print its workflow id and run id, and return',
      '',
      'With TEMPORAL_ADDRESS set, a worker must run elsewhere (`cellos worker`). Without it, a local Temporal',
      'dev server is started (or reused) on 127.0.0.1:7233 (CELLOS_DEV_PORT) with its UI on 8233',
      '(CELLOS_DEV_UI_PORT), and a worker runs inside this command while it waits.',
      'Phases go to stderr; the cell output to stdout and stderr; a summary line last.',
    ],
    options: { json, 'no-wait': { type: 'boolean' } },
    positionals: ['file'],
    normalize: (v, [file]) => ({ file: file!, json: v.json === true, wait: v['no-wait'] !== true }),
    load: async () => (await import('./commands/run.ts')).run,
  }),
  worker: command({
    summary: "run this host's worker until SIGINT/SIGTERM",
    usage: 'cellos worker [--task-queue Q] [--host-id H] [--max-cells N]',
    details: [
      '--task-queue Q  shared task queue (CELLOS_TASK_QUEUE, default cellos)',
      '--host-id H     this host (CELLOS_HOST_ID, default from /etc/machine-id)',
      '--max-cells N   cells this host runs at once (CELLOS_MAX_CELLS, default 16)',
      '',
      'Connects to TEMPORAL_ADDRESS, or to the local dev server on 127.0.0.1:7233 (started if not running).',
    ],
    options: { 'task-queue': { type: 'string' }, 'host-id': { type: 'string' }, 'max-cells': { type: 'string' } },
    positionals: [],
    normalize: (v) => {
      if (v['task-queue'] === '') throw usageError('--task-queue must not be empty');
      if (v['host-id'] === '') throw usageError('--host-id must not be empty');
      return {
        taskQueue: v['task-queue'] as string | undefined,
        hostId: v['host-id'] as string | undefined,
        maxCells: intFlag('--max-cells', v['max-cells'], 1, 1000),
      };
    },
    load: async () => (await import('./commands/worker.ts')).worker,
  }),
  dev: command({
    summary: 'a local Temporal dev server and a worker in the foreground',
    usage: 'cellos dev [--port 7233] [--ui-port 8233]',
    details: [
      '--port P        gRPC port of the server (CELLOS_DEV_PORT, default 7233)',
      '--ui-port P     port of its web UI (CELLOS_DEV_UI_PORT, default 8233)',
      '',
      'Data is kept in <project>/.state/temporal (CELLOS_DEV_STATE_DIR). Ctrl-C stops the worker, then the server.',
    ],
    options: { port: { type: 'string' }, 'ui-port': { type: 'string' } },
    positionals: [],
    normalize: (v) => ({
      port: intFlag('--port', v.port, 1, 65535),
      uiPort: intFlag('--ui-port', v['ui-port'], 1, 65535),
    }),
    load: async () => (await import('./commands/dev.ts')).dev,
  }),
  status: command({
    summary: 'status of the latest run of a cell (its outcome once it ended)',
    usage: 'cellos status <cell-id> [--json]',
    details: ['--json          print the report as JSON', '', 'Talks to TEMPORAL_ADDRESS, or to 127.0.0.1:7233.'],
    options: { json },
    positionals: ['cell-id'],
    normalize: (v, [cellId]) => ({ cellId: cellIdArg(cellId!), json: v.json === true }),
    load: async () => (await import('./commands/status.ts')).status,
  }),
  kill: command({
    summary: 'kill a running cell (SIGTERM, its grace, then SIGKILL)',
    usage: 'cellos kill <cell-id> [--reason TEXT]',
    details: [
      `--reason TEXT   recorded in the outcome (default "${DEFAULT_KILL_REASON}")`,
      '',
      'Talks to TEMPORAL_ADDRESS, or to 127.0.0.1:7233.',
    ],
    options: { reason: { type: 'string' } },
    positionals: ['cell-id'],
    normalize: (v, [cellId]) => {
      const reason = typeof v.reason === 'string' ? v.reason.trim() : DEFAULT_KILL_REASON;
      if (reason === '') throw usageError('--reason must not be empty');
      if (reason.length > 1000) throw usageError('--reason must be at most 1000 characters');
      return { cellId: cellIdArg(cellId!), reason };
    },
    load: async () => (await import('./commands/kill.ts')).kill,
  }),
};

function intFlag(flag: string, value: string | boolean | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max) {
    throw usageError(`${flag} ${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function cellIdArg(id: string): string {
  if (id.length > LIMITS.cellIdMaxLength || !CELL_ID_PATTERN.test(id)) {
    throw usageError(
      `cell id ${JSON.stringify(id)} is invalid: 1-${LIMITS.cellIdMaxLength} letters, digits, _ . - starting with a letter or digit`,
    );
  }
  return id;
}

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    'cellos: run CellOS ExecutionCell documents in gVisor sandboxes, with a durable lifecycle on Temporal',
    '',
    'usage: cellos <command> [options]    (cellos <command> --help for its options)',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Exit codes: 0 ok, 1 usage, 2 Temporal/infrastructure failure, 3 invalid or refused document;',
    "run/exec: the cell's own code, or 124 deadline, 125 out of memory, 130 killed, 69 lost, 128+n signal n.",
    'Set CELLOS_DEBUG=1 for stack traces.',
  ].join('\n');
}

function commandHelp(name: string, c: Command<unknown>): string {
  return [
    `cellos ${name}: ${c.summary}`,
    '',
    `usage: ${c.usage}`,
    '',
    ...c.details.map((l) => (l ? `  ${l}` : '')),
  ].join('\n');
}

/** Parses `argv` (without node and the script), runs the command, and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  let label = 'cellos';
  try {
    if (name === undefined) {
      io.stderr.write(`${overview()}\n`);
      return EXIT.usage;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      const topic = rest[0];
      const c = topic !== undefined && Object.hasOwn(commands, topic) ? commands[topic] : undefined;
      if (topic !== undefined && !c) throw usageError(`unknown command ${JSON.stringify(topic)}`);
      io.stdout.write(`${c ? commandHelp(topic!, c) : overview()}\n`);
      return EXIT.ok;
    }
    const c = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!c) throw usageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(commands).join(', ')})`);
    label = `cellos ${name}`;
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(`${commandHelp(name, c)}\n`);
      return EXIT.ok;
    }
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({
        args: [...rest],
        options: c.options,
        allowPositionals: true,
        strict: true,
      }) as typeof parsed;
    } catch (err) {
      throw usageError(`${(err as Error).message.split('\n')[0]}\nusage: ${c.usage}`);
    }
    if (parsed.positionals.length !== c.positionals.length) {
      const want = c.positionals.length === 0 ? 'no arguments' : c.positionals.map((p) => `<${p}>`).join(' ');
      const got = parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => JSON.stringify(p)).join(' ');
      throw usageError(`expected ${want}, got ${got}\nusage: ${c.usage}`);
    }
    const opts = c.normalize(parsed.values, parsed.positionals);
    const handler = await c.load();
    return (await handler(opts, io)).exitCode;
  } catch (err) {
    report(label, err, io);
    return toCliExit(err).exitCode;
  }
}

function report(label: string, err: unknown, io: CliIo): void {
  const exit = toCliExit(err);
  const lines = [`${label}: ${exit.message}`, ...exit.details.map((d) => `  ${d}`)];
  io.stderr.write(`${lines.join('\n')}\n`);
  if (io.env.CELLOS_DEBUG === '1') {
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      if (!(e instanceof CliExit)) io.stderr.write(`${depth > 0 ? 'caused by: ' : ''}${e.stack ?? e.message}\n`);
    }
  }
}

/** This process's streams, environment and signals. */
export function processIo(): CliIo {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onStopSignal(handler: (signal: StopSignal) => void) {
      const onInt = () => handler('SIGINT');
      const onTerm = () => handler('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
  };
}

/** The entry point: runs the command and exits with its code once stdout and stderr are flushed. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  // A failure nobody awaited (inside a library, say) still ends as one message and exit 2.
  const crash = (err: unknown) => {
    report('cellos', err, processIo());
    process.exit(EXIT.failure);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const code = await main(argv, processIo()).catch((err: unknown) => {
    // main reports its own errors; this is a bug in main itself.
    process.stderr.write(`cellos: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    return EXIT.failure;
  });
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

// Deno runs this file directly (`deno run -A src/cli/main.ts ...`); Node goes through bin/cellos.js.
if ((import.meta as ImportMeta & { main?: boolean }).main) {
  await runCli();
}
