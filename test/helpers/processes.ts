// The processes of this machine, read from /proc: for finding what a test left running.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessInfo {
  readonly pid: number;
  readonly argv: readonly string[];
  /** argv joined by spaces. */
  readonly commandLine: string;
}

/** Every process with a command line (kernel threads have none; one that ends meanwhile is left out). */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const raw = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (raw === '') continue;
    const argv = raw.replace(/\0$/, '').split('\0');
    found.push({ pid: Number(entry), argv, commandLine: argv.join(' ') });
  }
  return found;
}
