// The `cellos` command: declares commands and flags, lazily loads the handler of the one asked for,
// and turns what it returns or throws into an exit code (see ./exit.ts). The only place that calls
// process.exit.
//
// Node runs the compiled file through bin/cellos.js; Deno runs this file as it is:
//   deno run -A --node-modules-dir=manual src/cli/main.ts <command> ...
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CELL_OUTCOME_KINDS } from '../client/cell-query.ts';
import {
  checkOverlap,
  checkScheduleId,
  normalizeScheduleOptions,
  OVERLAP_POLICIES,
  type CreateScheduleOptions,
} from '../client/schedule-options.ts';
import { CELL_ID_PATTERN } from '../document/schema.ts';
import { LIMITS } from '../document/limits.ts';
import { toCliExit } from './errors.ts';
import { CliExit, EXIT, usageError } from './exit.ts';
import type { CliIo, StopSignal } from './io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;
type Value = string | boolean | (string | boolean)[] | undefined;
type Values = Record<string, Value>;
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

/** A command with subcommands (`cellos schedule create ...`). */
interface CommandGroup {
  readonly summary: string;
  readonly subcommands: Record<string, Command<unknown>>;
}

const isGroup = (c: Command<unknown> | CommandGroup): c is CommandGroup => 'subcommands' in c;

const json = { type: 'boolean' } as const;

const DEFAULT_KILL_REASON = 'requested with cellos kill';

const DOCUMENT_ARG = '<file|->        the ExecutionCell document (JSON); - reads it from stdin';

const CELL_REF_ARG =
  '<cell-id>       a cell id (its latest run, also one a schedule started) or the workflow id of one run';

const TALKS_TO = 'Talks to TEMPORAL_ADDRESS, or to 127.0.0.1:7233.';

const OVERLAP_HELP = [
  `--overlap P     what happens when a run is due while the last one still runs: ${OVERLAP_POLICIES.join(', ')}`,
  "                (terminate-other is refused: terminating a cell's workflow skips its cleanup)",
];

const overlapFlag = (v: Values) => checkOverlap(stringFlag('--overlap', v.overlap));

const schedule: CommandGroup = {
  summary: 'run a cell on a schedule (cron or interval) with Temporal Schedules',
  subcommands: {
    create: command({
      summary: 'create a schedule that runs a cell document',
      usage:
        'cellos schedule create <schedule-id> (--cron EXPR | --every DURATION) [--overlap P] [--catchup DURATION] [--timezone TZ] [--paused] [--note TEXT] [--json] <file|->',
      details: [
        '<schedule-id>   1-200 letters, digits, _ . - starting with a letter or digit',
        DOCUMENT_ARG,
        '--cron EXPR     cron expression (5-7 fields, or @daily, @hourly, ...); repeat for several',
        '--every D       an interval: 30s, 5m, 1h, 1h30m, 2d',
        ...OVERLAP_HELP,
        '                (default skip)',
        "--catchup D     how late a missed run (server down) may still start, at least 10s (default: Temporal's, 1 year)",
        '--timezone TZ   IANA time zone of the cron expressions (default UTC)',
        '--paused        create it paused (`cellos schedule unpause` starts it; trigger and backfill work while paused)',
        '--note TEXT     a note shown with its state',
        '--json          print the schedule description as JSON',
        '',
        'The document is validated now (exit 3) and again by each run. Each run is the cell workflow',
        'cell-<spec.id>-<scheduled time> on CELLOS_TASK_QUEUE; a worker must be running there.',
        TALKS_TO,
      ],
      options: {
        cron: { type: 'string', multiple: true },
        every: { type: 'string' },
        overlap: { type: 'string' },
        catchup: { type: 'string' },
        timezone: { type: 'string' },
        paused: { type: 'boolean' },
        note: { type: 'string' },
        json,
      },
      positionals: ['schedule-id', 'file'],
      normalize: (v, [scheduleId, file]) => {
        const opts: CreateScheduleOptions = {
          cron: v.cron as string[] | undefined,
          every: stringFlag('--every', v.every),
          overlap: stringFlag('--overlap', v.overlap) as CreateScheduleOptions['overlap'],
          catchupWindow: stringFlag('--catchup', v.catchup),
          timezone: stringFlag('--timezone', v.timezone),
          paused: v.paused === true,
          note: stringFlag('--note', v.note),
        };
        normalizeScheduleOptions(opts);
        return { scheduleId: checkScheduleId(scheduleId!), file: file!, schedule: opts, json: v.json === true };
      },
      load: async () => (await import('./commands/schedule.ts')).scheduleCreate,
    }),
    list: command({
      summary: 'list the schedules that run cells',
      usage: 'cellos schedule list [--json]',
      details: [
        '--json          print them as JSON',
        '',
        'A schedule created a moment ago may take a second to show.',
        TALKS_TO,
      ],
      options: { json },
      positionals: [],
      normalize: (v) => ({ json: v.json === true }),
      load: async () => (await import('./commands/schedule.ts')).scheduleList,
    }),
    describe: command({
      summary: 'a schedule: when it runs, its next runs and its recent runs with their outcomes',
      usage: 'cellos schedule describe <schedule-id> [--json]',
      details: ['--json          print the description as JSON', '', TALKS_TO],
      options: { json },
      positionals: ['schedule-id'],
      normalize: (v, [id]) => ({ scheduleId: checkScheduleId(id!), json: v.json === true }),
      load: async () => (await import('./commands/schedule.ts')).scheduleDescribe,
    }),
    pause: command({
      summary: 'stop a schedule from taking runs (running ones go on)',
      usage: 'cellos schedule pause <schedule-id> [--note TEXT]',
      details: ['--note TEXT     why (shown with its state; default "paused with cellos")', '', TALKS_TO],
      options: { note: { type: 'string' } },
      positionals: ['schedule-id'],
      normalize: (v, [id]) => ({
        scheduleId: checkScheduleId(id!),
        note: stringFlag('--note', v.note) ?? 'paused with cellos',
      }),
      load: async () => (await import('./commands/schedule.ts')).schedulePause,
    }),
    unpause: command({
      summary: 'let a paused schedule take runs again',
      usage: 'cellos schedule unpause <schedule-id> [--note TEXT]',
      details: ['--note TEXT     shown with its state (default "unpaused with cellos")', '', TALKS_TO],
      options: { note: { type: 'string' } },
      positionals: ['schedule-id'],
      normalize: (v, [id]) => ({
        scheduleId: checkScheduleId(id!),
        note: stringFlag('--note', v.note) ?? 'unpaused with cellos',
      }),
      load: async () => (await import('./commands/schedule.ts')).scheduleUnpause,
    }),
    trigger: command({
      summary: "run a schedule's cell now",
      usage: 'cellos schedule trigger <schedule-id> [--overlap P]',
      details: [...OVERLAP_HELP, "                (default: the schedule's own)", '', TALKS_TO],
      options: { overlap: { type: 'string' } },
      positionals: ['schedule-id'],
      normalize: (v, [id]) => ({ scheduleId: checkScheduleId(id!), overlap: overlapFlag(v) }),
      load: async () => (await import('./commands/schedule.ts')).scheduleTrigger,
    }),
    backfill: command({
      summary: 'take the runs a schedule would have taken in a past window, now',
      usage: 'cellos schedule backfill <schedule-id> --from TIME --to TIME [--overlap P]',
      details: [
        '--from TIME     start of the window, ISO 8601 (e.g. 2026-01-02T03:00:00Z)',
        '--to TIME       end of the window',
        ...OVERLAP_HELP,
        "                (default: the schedule's own; skip drops runs due while one is going, buffer-all runs them all)",
        '',
        TALKS_TO,
      ],
      options: { from: { type: 'string' }, to: { type: 'string' }, overlap: { type: 'string' } },
      positionals: ['schedule-id'],
      normalize: (v, [id]) => {
        const from = timeFlag('--from', v.from);
        const to = timeFlag('--to', v.to);
        if (+from >= +to) throw usageError(`--from ${from.toISOString()} must be before --to ${to.toISOString()}`);
        return { scheduleId: checkScheduleId(id!), from, to, overlap: overlapFlag(v) };
      },
      load: async () => (await import('./commands/schedule.ts')).scheduleBackfill,
    }),
    delete: command({
      summary: 'delete a schedule (runs it started go on)',
      usage: 'cellos schedule delete <schedule-id>',
      details: [TALKS_TO],
      options: {},
      positionals: ['schedule-id'],
      normalize: (_v, [id]) => ({ scheduleId: checkScheduleId(id!) }),
      load: async () => (await import('./commands/schedule.ts')).scheduleDelete,
    }),
  },
};

export const commands: Record<string, Command<unknown> | CommandGroup> = {
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
  ps: command({
    summary: 'running and recent cells: phase, outcome, exit code, host, schedule, times',
    usage: 'cellos ps [--outcome O] [--host H] [--schedule S] [--running] [--limit N] [--json]',
    details: [
      `--outcome O     only cells that ended so: ${CELL_OUTCOME_KINDS.join(', ')}`,
      '--host H        only cells placed on host H',
      '--schedule S    only cells that schedule S started',
      '--running       only cells still running',
      '--limit N       at most N cells (default 50)',
      '--json          print the cells as JSON',
      '',
      'Running cells first, then the most recently closed. Visibility lags a moment behind.',
      TALKS_TO,
    ],
    options: {
      outcome: { type: 'string' },
      host: { type: 'string' },
      schedule: { type: 'string' },
      running: { type: 'boolean' },
      limit: { type: 'string' },
      json,
    },
    positionals: [],
    normalize: (v) => {
      const outcome = stringFlag('--outcome', v.outcome);
      if (outcome !== undefined && !(CELL_OUTCOME_KINDS as readonly string[]).includes(outcome)) {
        throw usageError(`--outcome ${JSON.stringify(outcome)} must be one of ${CELL_OUTCOME_KINDS.join(', ')}`);
      }
      const host = stringFlag('--host', v.host);
      if (host !== undefined) idArg('host id', host);
      const scheduleId = stringFlag('--schedule', v.schedule);
      return {
        outcome,
        hostId: host,
        scheduleId: scheduleId === undefined ? undefined : checkScheduleId(scheduleId),
        running: v.running === true,
        limit: intFlag('--limit', v.limit, 1, 1000) ?? 50,
        json: v.json === true,
      };
    },
    load: async () => (await import('./commands/ps.ts')).ps,
  }),
  describe: command({
    summary: 'a cell in full: its document, phases with durations, outcome, host, sandbox, UI link',
    usage: 'cellos describe <cell-id> [--json]',
    details: [
      CELL_REF_ARG,
      '--json          print the description as JSON',
      '',
      'The UI link uses CELLOS_UI_URL (default http://localhost:8233).',
      TALKS_TO,
    ],
    options: { json },
    positionals: ['cell-id'],
    normalize: (v, [ref]) => ({ ref: cellRefArg(ref!), json: v.json === true }),
    load: async () => (await import('./commands/describe.ts')).describe,
  }),
  logs: command({
    summary: "a cell's output: stdout to stdout, stderr to stderr (-f follows it while it runs)",
    usage: 'cellos logs <cell-id> [-f|--follow]',
    details: [
      CELL_REF_ARG,
      '-f, --follow    keep printing output as the running cell writes it (about once a second) until it ends',
      '',
      'While the cell runs its output comes from its host (the last 16 KiB of each stream); once it has',
      'ended, from its result (the tails the document caps). Ctrl-C stops following.',
      TALKS_TO,
    ],
    options: { follow: { type: 'boolean', short: 'f' } },
    positionals: ['cell-id'],
    normalize: (v, [ref]) => ({ ref: cellRefArg(ref!), follow: v.follow === true }),
    load: async () => (await import('./commands/logs.ts')).logs,
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
  schedule,
};

function intFlag(flag: string, value: Value, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max) {
    throw usageError(`${flag} ${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function cellIdArg(id: string): string {
  return idArg('cell id', id);
}

function idArg(what: string, id: string): string {
  if (id.length > LIMITS.cellIdMaxLength || !CELL_ID_PATTERN.test(id)) {
    throw usageError(
      `${what} ${JSON.stringify(id)} is invalid: 1-${LIMITS.cellIdMaxLength} letters, digits, _ . - starting with a letter or digit`,
    );
  }
  return id;
}

/** The workflow id of one run: `cell-<id>`, or `cell-<id>-<time>` for one a schedule started. */
const WORKFLOW_ID = /^cell-[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** A cell id, or the workflow id of one of its runs. */
function cellRefArg(ref: string): string {
  if (ref.length <= LIMITS.cellIdMaxLength + 30 && WORKFLOW_ID.test(ref)) return ref;
  return cellIdArg(ref);
}

/** A string flag's value; refuses an empty one. */
function stringFlag(flag: string, value: Value): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw usageError(`${flag} must not be empty`);
  return value;
}

function timeFlag(flag: string, value: Value): Date {
  const text = stringFlag(flag, value);
  if (text === undefined) throw usageError(`${flag} TIME is required`);
  const time = new Date(text);
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(+time)) {
    throw usageError(`${flag} ${JSON.stringify(text)} is not an ISO 8601 time (e.g. 2026-01-02T03:00:00Z)`);
  }
  return time;
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

function groupHelp(name: string, g: CommandGroup): string {
  const width = Math.max(...Object.keys(g.subcommands).map((n) => n.length));
  return [
    `cellos ${name}: ${g.summary}`,
    '',
    `usage: cellos ${name} <${Object.keys(g.subcommands).join('|')}> [options]    (cellos ${name} <subcommand> --help for its options)`,
    '',
    ...Object.entries(g.subcommands).map(([sub, c]) => `  ${sub.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** The command `words` name (a command, or a group and one of its subcommands), and the words after it. */
function lookup(words: readonly string[]): {
  name: string;
  found: Command<unknown> | CommandGroup | undefined;
  rest: readonly string[];
} {
  const [name = '', ...rest] = words;
  const c = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!c || !isGroup(c)) return { name, found: c, rest };
  const [sub, ...subRest] = rest;
  if (sub === undefined || sub.startsWith('-')) return { name, found: c, rest };
  const found = Object.hasOwn(c.subcommands, sub) ? c.subcommands[sub] : undefined;
  if (!found) {
    throw usageError(
      `unknown ${name} subcommand ${JSON.stringify(sub)} (subcommands: ${Object.keys(c.subcommands).join(', ')})`,
    );
  }
  return { name: `${name} ${sub}`, found, rest: subRest };
}

function help(name: string, c: Command<unknown> | CommandGroup): string {
  return isGroup(c) ? groupHelp(name, c) : commandHelp(name, c);
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
      if (rest.length === 0) {
        io.stdout.write(`${overview()}\n`);
        return EXIT.ok;
      }
      const topic = lookup(rest);
      if (!topic.found) throw usageError(`unknown command ${JSON.stringify(rest[0])}`);
      io.stdout.write(`${help(topic.name, topic.found)}\n`);
      return EXIT.ok;
    }
    label = `cellos ${name}`;
    const { name: full, found, rest: args } = lookup(argv);
    if (!found) {
      throw usageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(commands).join(', ')})`);
    }
    label = `cellos ${full}`;
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout.write(`${help(full, found)}\n`);
      return EXIT.ok;
    }
    if (isGroup(found)) {
      const subs = Object.keys(found.subcommands).join(', ');
      throw usageError(
        args.length === 0
          ? `a subcommand is required: ${subs}`
          : `${JSON.stringify(args[0])} is not a subcommand: ${subs}`,
      );
    }
    const c = found;
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({
        args: [...args],
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
