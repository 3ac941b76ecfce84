// The HostProbe of a real host: node:fs, runsc through the driver's one exec function, and the host's
// own cgroup detection, rootfs resolution and state-folder check, so the doctor judges what a worker
// here would meet.
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, readlink, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCgroupMode, removeCellCgroup } from '../host/cgroups.ts';
import { checkStateHiddenOnHost } from '../host/config.ts';
import { resolveHostDir } from '../rootfs/host-dir.ts';
import { childEnv } from '../runsc/child-env.ts';
import { RunscError } from '../runsc/errors.ts';
import { execRunsc } from '../runsc/exec.ts';
import { detectPlatform, runscVersion } from '../runsc/platform.ts';
import { parseStateFileName } from '../runsc/state-dir.ts';
import { firstLine } from './result.ts';
import type { FileInfo, HostProbe } from './host-checks.ts';

type Env = Readonly<Record<string, string | undefined>>;

export function nodeHostProbe(env: Env): HostProbe {
  return {
    euid: process.geteuid?.() ?? -1,
    async stat(path) {
      const st = await stat(path).catch(() => undefined);
      if (!st) return undefined;
      const kind: FileInfo['kind'] = st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isCharacterDevice()
            ? 'char-device'
            : 'other';
      return { kind, uid: st.uid, mode: st.mode & 0o7777 };
    },
    writable: (path) =>
      access(path, constants.W_OK).then(
        () => true,
        () => false,
      ),
    readText: (path) => readFile(path, 'utf8').catch(() => undefined),
    writeText: (path, text) => writeFile(path, text),
    mkdir: async (path) => {
      await mkdir(path);
    },
    rmdir: (path) => rmdir(path),
    cgroupMode: detectCgroupMode,
    runscVersion,
    detectPlatform,
    bootSandbox: (runscPath, platform, timeoutMs) => bootSandbox(env, runscPath, platform, timeoutMs),
    resolveDefaultRootfs: (path) => resolveHostDir(path, 'default rootfs'),
    checkStateHidden: checkStateHiddenOnHost,
    async inRootNetworkNamespace() {
      // As createCellHost tells (src/host/cell-host.ts).
      const [mine, init] = await Promise.all([
        readlink('/proc/self/ns/net'),
        readlink('/proc/1/ns/net').catch(() => ''),
      ]);
      return mine === init;
    },
  };
}

/**
 * `runsc do /bin/true` without network: a real sandbox on `platform`, over the host's root file
 * system behind a throw-away overlay, gone when it exits (~0.2 s). `runsc do` keeps its bundle and
 * state under TMPDIR: a folder of ours, so that a sandbox that never booted (kvm hangs where it cannot
 * run) is found and removed, cgroups included.
 */
async function bootSandbox(env: Env, runscPath: string, platform: string, timeoutMs: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'cellos-doctor-'));
  const runscEnv = { ...childEnv(env, []), TMPDIR: dir };
  const flags = ['--network=none', `--platform=${platform}`];
  const started = performance.now();
  try {
    await execRunsc(runscPath, {
      args: [`--root=${join(dir, 'root')}`, ...flags, 'do', '--cwd=/', '/bin/true'],
      timeoutMs,
      env: runscEnv,
    });
    return performance.now() - started;
  } catch (err) {
    throw new Error(bootFailure(err, timeoutMs), { cause: err });
  } finally {
    await removeBootLeftovers(dir, (root, id) =>
      execRunsc(runscPath, { args: [`--root=${root}`, ...flags, 'delete', '--force', id], timeoutMs, env: runscEnv }),
    );
  }
}

function bootFailure(err: unknown, timeoutMs: number): string {
  if (!(err instanceof RunscError)) return firstLine(err);
  const why = err.stderrTail.trim().split('\n').at(-1)?.trim();
  const how = err.timedOut
    ? `it did not finish within ${timeoutMs / 1000} s`
    : err.exitCode !== undefined
      ? `runsc exited ${err.exitCode}`
      : firstLine(err);
  return why ? `${how}: ${why}` : how;
}

/** Whatever `runsc do` left in `dir` (its containers' state, their cgroups), then `dir` itself. */
async function removeBootLeftovers(
  dir: string,
  deleteContainer: (root: string, id: string) => Promise<unknown>,
): Promise<void> {
  const roots = (await readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name));
  const mode = await detectCgroupMode();
  for (const root of roots) {
    const ids = new Set(
      (await readdir(root).catch(() => [] as string[]))
        .map(parseStateFileName)
        .flatMap((f) => (f ? [f.sandboxId ?? f.containerId] : [])),
    );
    for (const id of ids) {
      await deleteContainer(root, id).catch(() => undefined);
      // runsc names the cgroup after the container, at the top of each hierarchy.
      await removeCellCgroup(mode, '', id).catch(() => undefined);
    }
  }
  await rm(dir, { recursive: true, force: true });
}
