// The two things the host and the supervisor share with sh and with runsc: launch.env's quoting,
// read back by a real sh, and runsc's state folder naming, read from a real running sandbox.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { launchEnv } from '../../src/host/launch-env.ts';
import { listStateFiles, parseStateFileName, staleLocks, stateFilesOf } from '../../src/runsc/state-dir.ts';
import { cellDoc, expectNoLeftovers, useTestHost } from '../helpers/host.ts';

describe('launch.env', () => {
  it('gives the supervisor every value exactly as written, whatever characters it holds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cellos-launch-env-'));
    try {
      const odd = `it's "odd" $HOME \`id\` \\ * ~ ; & | \n new line`;
      const file = join(dir, 'launch.env');
      await writeFile(
        file,
        launchEnv({
          mode: 'exec',
          container: `c ${odd}`,
          bundleDir: `/b/${odd}`,
          sandboxId: 'id_1.2+3-4',
          maxStdoutBytes: 1000,
          maxStderrBytes: 0,
          oomProbe: undefined,
          runscPath: '/usr/bin/runsc',
          globalFlags: ['--root=/r oot', '--network=none', ''],
        }),
      );
      const { stdout } = await promisify(execFile)('/bin/sh', [
        '-c',
        'set -u; . "$1"; printf "[%s]\\n" "$mode" "$container" "$bundle" "$id" "$max_out" "$max_err" "$oom_probe" "$#" "$@"',
        'sh',
        file,
      ]);
      expect(stdout).toBe(
        [
          'exec',
          `c ${odd}`,
          `/b/${odd}`,
          'id_1.2+3-4',
          '1000',
          '0',
          '',
          '4',
          '/usr/bin/runsc',
          '--root=/r oot',
          '--network=none',
          '',
        ]
          .map((v) => `[${v}]\n`)
          .join(''),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("runsc's state folder", () => {
  it('names both layouts of state and lock files and ignores anything else', () => {
    expect(parseStateFileName('sb_sandbox:c1.state')).toEqual({
      name: 'sb_sandbox:c1.state',
      containerId: 'c1',
      sandboxId: 'sb',
      kind: 'state',
    });
    expect(parseStateFileName('c1.lock')).toEqual({
      name: 'c1.lock',
      containerId: 'c1',
      sandboxId: undefined,
      kind: 'lock',
    });
    expect(parseStateFileName('runsc.log')).toBeUndefined();
    const files = ['a_sandbox:a.state', 'a_sandbox:a.lock', 'b_sandbox:b.lock'].map((n) => parseStateFileName(n)!);
    expect(staleLocks(files).map((f) => f.name)).toEqual(['b_sandbox:b.lock']);
  });

  const host = useTestHost({ checkLeftovers: false });

  it('finds the state and lock file of a running sandbox as the installed runsc writes them', async () => {
    const handle = await host.launch(cellDoc(['/bin/sh', '-c', 'sleep 30']), 'state-dir');
    try {
      const until = Date.now() + 20_000;
      while ((await host.runsc.state(handle.sandboxId))?.status !== 'running') {
        if (Date.now() > until) throw new Error(`sandbox ${handle.sandboxId} never started`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const mine = stateFilesOf(await listStateFiles(host.config.runscRoot), handle.sandboxId);
      expect(mine.map((f) => f.kind).sort()).toEqual(['lock', 'state']);
      expect(mine.every((f) => f.containerId === handle.sandboxId)).toBe(true);
      expect(staleLocks(mine)).toEqual([]);
    } finally {
      await host.remove(handle);
    }
    await expectNoLeftovers(host);
  });
});
