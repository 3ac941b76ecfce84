// The options of a cell schedule, checked before anything talks to Temporal. Pure: the CLI checks
// its flags with these without loading the Temporal client.
import { CELL_ID_PATTERN } from '../document/cell-id.ts';
import { parseDuration } from './durations.ts';

/** What happens when a run is due while the previous one still runs. */
export const OVERLAP_POLICIES = ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'allow-all'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Why 'terminate-other' is refused, for every place that names it. */
export const TERMINATE_OTHER_REFUSED =
  "overlap policy 'terminate-other' is refused: terminating a cell's workflow skips its cleanup, leaving the " +
  "sandbox to the host's reconciler; use 'cancel-other', which kills the running cell and cleans it up before the next one starts";

export const SCHEDULE_ID_MAX_LENGTH = 200;

/** A schedule option (or a schedule id) that cannot be used; the message names it and the bad value. */
export class ScheduleOptionsError extends Error {
  override readonly name = 'ScheduleOptionsError';
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}

export interface CreateScheduleOptions {
  /** Cron expression(s), 5-7 fields (or @daily, @every 5m, ...). Exactly one of cron and every. */
  readonly cron?: string | readonly string[] | undefined;
  /** An interval: '30s', '5m', '1h', '1h30m', '2d'. */
  readonly every?: string | undefined;
  /** Default 'skip'. 'terminate-other' is refused (it skips the cell's cleanup). */
  readonly overlap?: OverlapPolicy | undefined;
  /** How late a missed run (e.g. the server was down) may still start: at least '10s'. Default: Temporal's (1 year). */
  readonly catchupWindow?: string | undefined;
  /** IANA time zone of the cron expressions (default UTC). */
  readonly timezone?: string | undefined;
  readonly paused?: boolean | undefined;
  /** Shown with the schedule's state (e.g. why it is paused). */
  readonly note?: string | undefined;
  /** Extra memo on the schedule. */
  readonly memo?: Record<string, unknown> | undefined;
}

/** The spec, policies and state of a new schedule, checked. */
export interface NormalizedScheduleOptions {
  readonly cron: readonly string[];
  readonly everyMs: number | undefined;
  readonly overlap: OverlapPolicy;
  readonly catchupWindowMs: number | undefined;
  readonly timezone: string | undefined;
  readonly paused: boolean;
  readonly note: string | undefined;
}

/** Checks the options of `create`, with a message per problem that names the option and the bad value. */
export function normalizeScheduleOptions(opts: CreateScheduleOptions): NormalizedScheduleOptions {
  const { cron, every, overlap = 'skip', catchupWindow, timezone, paused = false, note } = opts;
  const crons = cron === undefined ? [] : typeof cron === 'string' ? [cron] : [...cron];
  if (cron !== undefined && crons.length === 0)
    throw new ScheduleOptionsError('cron', 'cron: give at least one expression');
  for (const c of crons) {
    if (typeof c !== 'string' || c.trim() === '') {
      throw new ScheduleOptionsError('cron', `cron ${JSON.stringify(c)} is empty`);
    }
  }
  if (crons.length === 0 && every === undefined) {
    throw new ScheduleOptionsError('cron', 'a schedule needs cron or every (when to run the cell); neither was given');
  }
  if (crons.length > 0 && every !== undefined) {
    throw new ScheduleOptionsError('cron', 'give cron or every, not both');
  }
  let everyMs: number | undefined;
  if (every !== undefined) {
    everyMs = parseDuration(every);
    if (everyMs === undefined || everyMs < 1000) {
      throw new ScheduleOptionsError(
        'every',
        `every ${JSON.stringify(every)} must be a duration of at least 1s, like 30s, 5m, 1h or 1h30m`,
      );
    }
  }
  if ((overlap as string) === 'terminate-other') throw new ScheduleOptionsError('overlap', TERMINATE_OTHER_REFUSED);
  if (!OVERLAP_POLICIES.includes(overlap)) {
    throw new ScheduleOptionsError(
      'overlap',
      `overlap ${JSON.stringify(overlap)} must be one of ${OVERLAP_POLICIES.join(', ')}`,
    );
  }
  let catchupWindowMs: number | undefined;
  if (catchupWindow !== undefined) {
    catchupWindowMs = parseDuration(catchupWindow);
    if (catchupWindowMs === undefined || catchupWindowMs < 10_000) {
      throw new ScheduleOptionsError(
        'catchupWindow',
        `catchup window ${JSON.stringify(catchupWindow)} must be a duration of at least 10s (Temporal's minimum), like 1m or 1h`,
      );
    }
  }
  if (timezone !== undefined && !isTimeZone(timezone)) {
    throw new ScheduleOptionsError(
      'timezone',
      `time zone ${JSON.stringify(timezone)} is not an IANA time zone (like UTC or Europe/Paris)`,
    );
  }
  return { cron: crons, everyMs, overlap, catchupWindowMs, timezone, paused, note };
}

/** Checks an overlap policy given to trigger or backfill. */
export function checkOverlap(overlap: string | undefined): OverlapPolicy | undefined {
  if (overlap === undefined) return undefined;
  if (overlap === 'terminate-other') throw new ScheduleOptionsError('overlap', TERMINATE_OTHER_REFUSED);
  if (!(OVERLAP_POLICIES as readonly string[]).includes(overlap)) {
    throw new ScheduleOptionsError(
      'overlap',
      `overlap ${JSON.stringify(overlap)} must be one of ${OVERLAP_POLICIES.join(', ')}`,
    );
  }
  return overlap as OverlapPolicy;
}

export function checkScheduleId(scheduleId: string): string {
  if (
    typeof scheduleId !== 'string' ||
    scheduleId.length > SCHEDULE_ID_MAX_LENGTH ||
    !CELL_ID_PATTERN.test(scheduleId)
  ) {
    throw new ScheduleOptionsError(
      'scheduleId',
      `schedule id ${JSON.stringify(scheduleId)} is invalid: 1-${SCHEDULE_ID_MAX_LENGTH} letters, digits, _ . - starting with a letter or digit`,
    );
  }
  return scheduleId;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
