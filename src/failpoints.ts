// Failpoints for the chaos test: with CELLOS_FAILPOINTS_DIR set, a process that reaches point P
// while the file P.arm exists consumes it, writes P.hit.<pid> and stalls, so that the test can
// SIGKILL it exactly there (CELLOS_FAILPOINTS_STALL_MS, default 30 s; a test that lets the process
// go on after the stall sets it shorter). Without CELLOS_FAILPOINTS_DIR this is one environment lookup.
import { access, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type FailpointName = 'admit' | 'after-prepare' | 'after-start' | 'during-remove';

export async function failpoint(name: FailpointName): Promise<void> {
  const dir = process.env.CELLOS_FAILPOINTS_DIR;
  if (!dir) return;
  const armed = join(dir, `${name}.arm`);
  if (
    !(await access(armed).then(
      () => true,
      () => false,
    ))
  )
    return;
  // rename is atomic: of several cells reaching the point at once, one takes it.
  const taken = `${armed}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  if (
    !(await rename(armed, taken).then(
      () => true,
      () => false,
    ))
  )
    return;
  await writeFile(join(dir, `${name}.hit.${process.pid}`), '');
  const stallMs = Number(process.env.CELLOS_FAILPOINTS_STALL_MS);
  await new Promise((r) => setTimeout(r, Number.isSafeInteger(stallMs) && stallMs >= 0 ? stallMs : 30_000));
}
