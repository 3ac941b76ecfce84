// What the Temporal UI shows as a cell's summary and details: what runs, where, with which limits.
import type { CellDocument } from '../document/schema.ts';

export function cellSummary(doc: CellDocument, scheduleId?: string): string {
  const argv = doc.spec.run.argv.join(' ');
  return `cell ${doc.spec.id}${scheduleId ? ` (schedule ${scheduleId})` : ''}: ${argv.length > 200 ? `${argv.slice(0, 200)}…` : argv}`;
}

export function cellDetails(doc: CellDocument): string {
  const run = doc.spec.run;
  const limits = run.limits;
  const rootfs = run.rootfs
    ? 'path' in run.rootfs
      ? `host dir ${run.rootfs.path}`
      : `image ${run.rootfs.image}`
    : "the host's default";
  const lines = [
    `**argv** ${codeSpan(JSON.stringify(run.argv))}`,
    `**deadline** ${doc.spec.lifetime.ttlSeconds}s, then SIGTERM and SIGKILL after ${limits.gracefulShutdownSeconds}s`,
    `**limits** memory ${limits.memoryMaxBytes === undefined ? "the host's default" : `${limits.memoryMaxBytes} bytes`}; cpu ${limits.cpuMax ? `${limits.cpuMax.quotaMicros}/${limits.cpuMax.periodMicros} µs` : 'unlimited'}; processes ${run.rlimits.processes}; open files ${run.rlimits.openFiles}`,
    `**rootfs** ${rootfs} (read-only)`,
    `**user** ${run.user.uid}:${run.user.gid}; **network** ${run.network}; **cwd** ${run.workingDirectory}`,
  ];
  if (doc.spec.correlation?.correlationId) {
    lines.push(`**correlation** ${codeSpan(JSON.stringify(doc.spec.correlation.correlationId))}`);
  }
  return lines.join('\n');
}

/**
 * `text` as one Markdown code span, whatever it holds: the UI renders details as Markdown, and a
 * document's strings must not become links, images or formatting there. The fence is one backtick
 * longer than the longest run inside (CommonMark); text is JSON, so it has no line breaks.
 */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return longest === 0 ? `${fence}${text}${fence}` : `${fence} ${text} ${fence}`;
}
