// Durations as people write them for schedules: '30s', '5m', '1h30m', '2d'. Pure.

const UNITS_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Milliseconds of a duration like '30s', '5m', '1h30m' or '2d', or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  const ms = Number(d) * UNITS_MS.d + Number(h) * UNITS_MS.h + Number(min) * UNITS_MS.m + Number(s) * UNITS_MS.s;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The shortest spelling of a duration in whole seconds: 90000 -> '1m30s', 0 -> '0s'. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000);
  if (rest <= 0) return '0s';
  let out = '';
  for (const [unit, unitMs] of Object.entries(UNITS_MS)) {
    const n = Math.floor(rest / (unitMs / 1000));
    if (n > 0) out += `${n}${unit}`;
    rest -= n * (unitMs / 1000);
  }
  return out;
}
