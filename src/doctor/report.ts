// How `cellos doctor` shows its checks: one line each (status, name, detail), a `fix:` line under a
// warning or a failure, and a summary; and its exit code. Pure.
import type { CheckResult, CheckStatus } from './result.ts';

const LABELS: Readonly<Record<CheckStatus, string>> = { ok: 'ok', warn: 'warn', fail: 'FAIL', skip: 'skip' };

/** Exit codes of `cellos doctor`: 0 when nothing failed (warnings allowed), 1 otherwise. */
export const DOCTOR_EXIT = { ok: 0, problems: 1 } as const;

export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? DOCTOR_EXIT.problems : DOCTOR_EXIT.ok;
}

/** The checks as lines, then the summary. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(0, ...results.map((r) => r.name.length));
  const indent = ' '.repeat(4 + 2 + width + 2);
  const lines = results.flatMap((r) => [
    `${LABELS[r.status].padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`,
    ...(r.fix && r.status !== 'ok' ? [`${indent}fix: ${r.fix}`] : []),
  ]);
  return [...lines, '', summarize(results)].join('\n');
}

export function summarize(results: readonly CheckResult[]): string {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const [failed, warned, skipped] = [count('fail'), count('warn'), count('skip')];
  const parts = [
    failed > 0 ? `${failed} failed` : '',
    warned > 0 ? `${warned} ${warned === 1 ? 'warning' : 'warnings'}` : '',
    skipped > 0 ? `${skipped} not checked` : '',
  ].filter(Boolean);
  if (parts.length === 0) return `cellos doctor: all ${results.length} checks ok`;
  const verdict =
    failed > 0 ? 'this host cannot run cells as configured' : 'nothing stops this host from running cells';
  return `cellos doctor: ${parts.join(', ')} of ${results.length} checks: ${verdict}`;
}
