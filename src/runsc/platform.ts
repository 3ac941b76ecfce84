// Which gVisor platform works on this host. Detected once when a worker or host starts.
import { execRunsc } from './exec.ts';
import type { RunscPlatform } from './driver.ts';

/**
 * systrap where the installed runsc has it (newer gVisor), else ptrace. kvm is never picked
 * by detection: on these machines it hangs at 100% CPU during setup; configure it explicitly.
 */
export async function detectPlatform(runscPath: string): Promise<RunscPlatform> {
  const res = await execRunsc(runscPath, { args: ['flags'], timeoutMs: 10_000, okExitCodes: [1, 2] });
  const text = `${res.stdout}\n${res.stderr}`;
  const line = text.split('\n').findIndex((l) => /^\s*-platform\b/.test(l));
  const description =
    line >= 0
      ? text
          .split('\n')
          .slice(line, line + 2)
          .join(' ')
      : text;
  return /systrap/.test(description) ? 'systrap' : 'ptrace';
}

export async function runscVersion(runscPath: string): Promise<string> {
  const res = await execRunsc(runscPath, { args: ['--version'], timeoutMs: 10_000 });
  return res.stdout.split('\n')[0] ?? 'unknown';
}
