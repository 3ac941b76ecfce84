// `cellos schedule <subcommand>`: cells on Temporal Schedules. Handlers in ../commands/schedule.ts.
import {
  checkOverlap,
  checkScheduleId,
  normalizeScheduleOptions,
  OVERLAP_POLICIES,
  type CreateScheduleOptions,
} from '../../client/schedule-options.ts';
import { command, type CommandGroup, type Values } from '../command.ts';
import { usageError } from '../exit.ts';
import { stringFlag, timeFlag } from '../flags.ts';
import { DOCUMENT_ARG, TALKS_TO } from '../help.ts';

const json = { type: 'boolean' } as const;

const OVERLAP_HELP = [
  `--overlap P     what happens when a run is due while the last one still runs: ${OVERLAP_POLICIES.join(', ')}`,
  "                (terminate-other is refused: terminating a cell's workflow skips its cleanup)",
];

const overlapFlag = (v: Values) => checkOverlap(stringFlag('--overlap', v.overlap));

export const schedule: CommandGroup = {
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
      load: async () => (await import('../commands/schedule.ts')).scheduleCreate,
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
      load: async () => (await import('../commands/schedule.ts')).scheduleList,
    }),
    describe: command({
      summary: 'a schedule: when it runs, its next runs and its recent runs with their outcomes',
      usage: 'cellos schedule describe <schedule-id> [--json]',
      details: ['--json          print the description as JSON', '', TALKS_TO],
      options: { json },
      positionals: ['schedule-id'],
      normalize: (v, [id]) => ({ scheduleId: checkScheduleId(id!), json: v.json === true }),
      load: async () => (await import('../commands/schedule.ts')).scheduleDescribe,
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
      load: async () => (await import('../commands/schedule.ts')).schedulePause,
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
      load: async () => (await import('../commands/schedule.ts')).scheduleUnpause,
    }),
    trigger: command({
      summary: "run a schedule's cell now",
      usage: 'cellos schedule trigger <schedule-id> [--overlap P]',
      details: [...OVERLAP_HELP, "                (default: the schedule's own)", '', TALKS_TO],
      options: { overlap: { type: 'string' } },
      positionals: ['schedule-id'],
      normalize: (v, [id]) => ({ scheduleId: checkScheduleId(id!), overlap: overlapFlag(v) }),
      load: async () => (await import('../commands/schedule.ts')).scheduleTrigger,
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
      load: async () => (await import('../commands/schedule.ts')).scheduleBackfill,
    }),
    delete: command({
      summary: 'delete a schedule (runs it started go on)',
      usage: 'cellos schedule delete <schedule-id>',
      details: [TALKS_TO],
      options: {},
      positionals: ['schedule-id'],
      normalize: (_v, [id]) => ({ scheduleId: checkScheduleId(id!) }),
      load: async () => (await import('../commands/schedule.ts')).scheduleDelete,
    }),
  },
};
