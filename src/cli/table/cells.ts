// The commands about cells that exist: `cellos ps`, `describe`, `logs`, `artifacts`, `status` and `kill`.
import { CELL_OUTCOME_KINDS } from '../../cell/outcome.ts';
import { ARTIFACT_NAME_PATTERN } from '../../document/artifacts.ts';
import { checkScheduleId } from '../../client/schedule-options.ts';
import { command, type CommandEntry } from '../command.ts';
import { usageError } from '../exit.ts';
import { cellIdArg, cellRefArg, idArg, intFlag, stringFlag } from '../flags.ts';
import { CELL_REF_ARG, TALKS_TO } from '../help.ts';

const json = { type: 'boolean' } as const;

const DEFAULT_KILL_REASON = 'requested with cellos kill';

export const cellCommands: Record<string, CommandEntry> = {
  ps: command({
    summary: 'running and recent cells: phase, outcome, exit code, host, schedule, correlation id, times',
    usage: 'cellos ps [--outcome O] [--host H] [--schedule S] [--correlation C] [--running] [--limit N] [--json]',
    details: [
      `--outcome O     only cells that ended so: ${CELL_OUTCOME_KINDS.join(', ')}`,
      '--host H        only cells placed on host H',
      '--schedule S    only cells that schedule S started',
      "--correlation C only cells whose document's spec.correlation.correlationId is C",
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
      correlation: { type: 'string' },
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
      const correlationId = stringFlag('--correlation', v.correlation);
      if (correlationId !== undefined && !/^[^'"\\\n]{1,256}$/.test(correlationId)) {
        throw usageError(
          `--correlation ${JSON.stringify(correlationId)} must be 1 to 256 characters without quotes, backslashes or line breaks (a visibility query cannot hold them)`,
        );
      }
      return {
        outcome,
        hostId: host,
        scheduleId: scheduleId === undefined ? undefined : checkScheduleId(scheduleId),
        correlationId,
        running: v.running === true,
        limit: intFlag('--limit', v.limit, 1, 1000) ?? 50,
        json: v.json === true,
      };
    },
    load: async () => (await import('../commands/ps.ts')).ps,
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
    load: async () => (await import('../commands/describe.ts')).describe,
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
    load: async () => (await import('../commands/logs.ts')).logs,
  }),
  artifacts: command({
    summary: "a cell's exported artifacts (spec.export.artifacts): list them, or fetch one from its host or S3",
    usage: 'cellos artifacts <cell-id> [name] [-o PATH|-] [--force] [--json]',
    details: [
      CELL_REF_ARG,
      '[name]          the artifact to fetch; without it, the artifacts are listed (and those refused, with why)',
      '-o, --output P  where to write it (default ./<name>, ./<name>.tar for a directory); - writes to stdout',
      '--force         overwrite P if it exists',
      "--json          print the list (or the fetched artifact's record) as JSON",
      '',
      "An artifact in a host's folder store is read through that host's worker, which must be running;",
      'one in S3 is read from the bucket, with CELLOS_ARTIFACTS_S3_* and AWS credentials set here as on',
      'the workers. The file appears only once its sha256 matches what the cell stored.',
      TALKS_TO,
    ],
    options: {
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      json,
    },
    positionals: ['cell-id'],
    optionalPositionals: ['name'],
    normalize: (v, [ref, name]) => {
      const output = stringFlag('--output', v.output);
      if (name === undefined && (output !== undefined || v.force === true)) {
        throw usageError('-o and --force need the name of the artifact to fetch');
      }
      if (name !== undefined && !ARTIFACT_NAME_PATTERN.test(name)) {
        throw usageError(
          `artifact name ${JSON.stringify(name)} is invalid: 1 to 64 letters, digits, _ . - starting with a letter or digit`,
        );
      }
      if (output === '-' && v.json === true) throw usageError('--json and -o - both write to stdout: choose one');
      return { ref: cellRefArg(ref!), name, output, force: v.force === true, json: v.json === true };
    },
    load: async () => (await import('../commands/artifacts.ts')).artifacts,
  }),
  status: command({
    summary: 'status of the latest run of a cell (its outcome once it ended)',
    usage: 'cellos status <cell-id> [--json]',
    details: ['--json          print the report as JSON', '', TALKS_TO],
    options: { json },
    positionals: ['cell-id'],
    normalize: (v, [cellId]) => ({ cellId: cellIdArg(cellId!), json: v.json === true }),
    load: async () => (await import('../commands/status.ts')).status,
  }),
  kill: command({
    summary: 'kill a running cell (SIGTERM, its grace, then SIGKILL)',
    usage: 'cellos kill <cell-id> [--reason TEXT]',
    details: [`--reason TEXT   recorded in the outcome (default "${DEFAULT_KILL_REASON}")`, '', TALKS_TO],
    options: { reason: { type: 'string' } },
    positionals: ['cell-id'],
    normalize: (v, [cellId]) => {
      const reason = typeof v.reason === 'string' ? v.reason.trim() : DEFAULT_KILL_REASON;
      if (reason === '') throw usageError('--reason must not be empty');
      if (reason.length > 1000) throw usageError('--reason must be at most 1000 characters');
      return { cellId: cellIdArg(cellId!), reason };
    },
    load: async () => (await import('../commands/kill.ts')).kill,
  }),
};
