// Exported artifacts with real sandboxes: collected from the cell's scratch tmpfs after the workload
// ends (on every outcome where the files exist), stored, and gone from the host with the cell.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CellDocumentError } from '../../src/document/errors.ts';
import { parseCellDocument } from '../../src/document/parse.ts';
import { runCell } from '../../src/host/run-cell.ts';
import type { ArtifactRecord } from '../../src/artifacts/store.ts';
import { readTarBytes } from '../artifacts/helpers.ts';
import { cellDocument, rawDocument } from '../helpers/documents.ts';
import { until } from '../helpers/wait.ts';
import { discardCell, expectNoLeftovers, makeTestHost, type TestHost } from '../helpers/host.ts';

let host: TestHost;
beforeAll(async () => {
  host = await makeTestHost({ artifacts: { maxBytesPerArtifact: 1024 * 1024 } });
});
afterEach(async () => {
  await expectNoLeftovers(host);
});
afterAll(async () => {
  await host.cleanupDir();
});

const sh = (
  script: string,
  artifacts: { name: string; path: string }[],
  run: Record<string, unknown> = {},
  ttlSeconds = 30,
) => cellDocument(['/bin/sh', '-c', script], { ttlSeconds, run, spec: { export: { artifacts } } });

const cellDocumentInput = (artifacts: { name: string; path: string }[], run: Record<string, unknown>) =>
  rawDocument(['/bin/true'], { run, spec: { export: { artifacts } } });

async function stored(a: ArtifactRecord): Promise<Buffer> {
  const size = await host.artifactStore.size(a.location);
  return Buffer.from(await host.artifactStore.read(a.location, 0, size ?? 0));
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('artifacts', () => {
  it('exports a report and a directory a build-like cell wrote, with sizes and sha256', async () => {
    const doc = sh(
      'mkdir -p /tmp/out/dir/sub && echo "{\\"ok\\":true}" > /tmp/out/report.json && echo a > /tmp/out/dir/a.txt && echo b > /tmp/out/dir/sub/b.txt',
      [
        { name: 'report', path: '/tmp/out/report.json' },
        { name: 'tree', path: '/tmp/out/dir' },
      ],
    );
    const exit = await runCell(host, doc);
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.refusedArtifacts).toEqual([]);
    const [report, tree] = exit.artifacts!;
    expect(report).toMatchObject({ name: 'report', path: '/tmp/out/report.json', kind: 'file', bytes: 12 });
    expect(report!.sha256).toBe(sha256('{"ok":true}\n'));
    expect((await stored(report!)).toString()).toBe('{"ok":true}\n');
    expect(tree).toMatchObject({ name: 'tree', kind: 'directory' });
    const entries = await readTarBytes(await stored(tree!));
    expect(entries.map((e) => [e.header.name, e.body])).toEqual([
      ['a.txt', 'a\n'],
      ['sub/', ''],
      ['sub/b.txt', 'b\n'],
    ]);
    expect(tree!.sha256).toBe(sha256(await stored(tree!)));
  });

  it('exports what a cell killed at its deadline wrote, on a tmpfs the document declares', async () => {
    const doc = sh(
      'echo partial > /out/progress.log; sleep 60',
      [{ name: 'progress', path: '/out/progress.log' }],
      {
        tmpfs: [{ path: '/out', sizeBytes: 1024 * 1024 }],
        limits: { gracefulShutdownSeconds: 1 },
      },
      1,
    );
    const exit = await runCell(host, doc);
    expect(exit.outcome.kind).toBe('deadline');
    expect(exit.artifacts).toHaveLength(1);
    expect((await stored(exit.artifacts![0]!)).toString()).toBe('partial\n');
  });

  it('keeps the tmpfs size on the host, and refuses an artifact over the per-artifact limit', async () => {
    const doc = sh(
      'head -c 3000000 /dev/zero > /out/full; echo "full $?" >&2; rm /out/full; head -c 1500000 /dev/zero > /out/big',
      [{ name: 'big', path: '/out/big' }],
      { tmpfs: [{ path: '/out', sizeBytes: 2 * 1024 * 1024 }] },
    );
    const exit = await runCell(host, doc);
    // The scratch tmpfs has the declared size: a cell cannot fill the host's memory or disk through it.
    expect(exit.stderr.tail).toContain('full 1');
    // Over this host's 1 MiB per artifact: refused with the limit named, the outcome unchanged.
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.artifacts).toEqual([]);
    expect(exit.refusedArtifacts).toEqual([
      { name: 'big', path: '/out/big', reason: 'over 1048576 bytes per artifact' },
    ]);
  });

  it('refuses a symlink to a host path, at the end or on the way, and a fifo, without hanging', async () => {
    const doc = sh('ln -s /etc/passwd /tmp/link; ln -s /etc /tmp/etc; mkfifo /tmp/fifo; echo ok > /tmp/fine', [
      { name: 'link', path: '/tmp/link' },
      { name: 'through', path: '/tmp/etc/passwd' },
      { name: 'fifo', path: '/tmp/fifo' },
      { name: 'missing', path: '/tmp/nothing' },
      { name: 'fine', path: '/tmp/fine' },
    ]);
    const exit = await runCell(host, doc);
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.artifacts!.map((a) => a.name)).toEqual(['fine']);
    expect(Object.fromEntries(exit.refusedArtifacts!.map((r) => [r.name, r.reason]))).toEqual({
      link: 'a symlink',
      through: expect.stringMatching(/a symlink on its path/),
      // gVisor keeps a fifo made on a host-backed mount in the sandbox: the host finds none.
      fifo: expect.stringMatching(/^(a fifo|missing)$/),
      missing: 'missing',
    });
    const passwd = await readFile('/etc/passwd');
    for (const a of exit.artifacts!) expect((await stored(a)).equals(passwd)).toBe(false);
  });

  it('runs a cell with artifacts cold, and unmounts its scratch tmpfs when a running cell is killed and removed', async () => {
    const doc = sh('echo x > /tmp/x; sleep 60', [{ name: 'x', path: '/tmp/x' }]);
    expect(await host.warmMisfit(doc)).toBeDefined();
    const handle = await host.launch(doc, 'run-1');
    await until(
      'the sandbox running',
      () => host.state(handle),
      (s) => s === 'running',
    );
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo).toContain(`${handle.cellDir}/scratch/tmp`);
    await discardCell(host, handle);
    // afterEach: no mount, sandbox, record or cgroup left.
  });

  it('makes a scratch folder at the parent of an artifact outside /tmp and the declared tmpfs, as CellOS writes /out/report.json', async () => {
    const doc = sh('echo 42 > /out/report.json; mkdir /out/sub; echo b > /out/sub/b', [
      { name: 'report', path: '/out/report.json' },
      { name: 'b', path: '/out/sub/b' },
    ]);
    const exit = await runCell(host, doc);
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.artifacts!.map((a) => a.name)).toEqual(['report', 'b']);
    expect((await stored(exit.artifacts![0]!)).toString()).toBe('42\n');
  });

  it('refuses on the host, leaving nothing, a scratch folder whose mount point the rootfs lacks', async () => {
    const doc = sh('true', [{ name: 'r', path: '/report.json' }]);
    await expect(runCell(host, doc)).rejects.toThrow(
      /spec\.export\.artifacts\[0\]\.path: mount point \/report\.json is not a directory in the rootfs/,
    );
    // afterEach: nothing left, no mount.
  });

  it('refuses at validation an artifact no writable mount can hold, naming the field and the rule', () => {
    const problems = (artifacts: { name: string; path: string }[], run: Record<string, unknown> = {}) => {
      try {
        parseCellDocument(cellDocumentInput(artifacts, run));
        return [];
      } catch (err) {
        return (err as CellDocumentError).problems.map((p) => `${p.path}: ${p.message}`);
      }
    };
    expect(problems([{ name: 'r', path: '/' }])).toEqual([
      'spec.export.artifacts[0].path: / lies on no writable mount of the cell: a scratch folder cannot replace the root: put it under /tmp or a folder',
    ]);
    expect(problems([{ name: 'r', path: '/proc/x' }])).toEqual([
      "spec.export.artifacts[0].path: /proc/x lies on no writable mount of the cell: /proc is the sandbox's own",
    ]);
    expect(
      problems([{ name: 'r', path: '/data/out.json' }], { mounts: [{ source: '/srv/in', destination: '/data' }] }),
    ).toEqual(['spec.export.artifacts[0].path: /data/out.json lies on the read-only host mount spec.run.mounts[0]']);
    expect(problems([{ name: 'r', path: '/x/y' }], { mounts: [{ source: '/srv/in', destination: '/x/in' }] })).toEqual([
      'spec.export.artifacts[0].path: /x/y lies on no writable mount of the cell: a scratch folder at /x would hide the host mount spec.run.mounts[0]',
    ]);
    expect(
      problems([{ name: 'r', path: '/out/report.json' }], { tmpfs: [{ path: '/out/sub', sizeBytes: 4096 }] }),
    ).toEqual([
      'spec.export.artifacts[0].path: /out/report.json lies on no writable mount of the cell: a scratch folder at /out would hide spec.run.tmpfs[0]: declare a tmpfs at /out instead',
    ]);
    expect(problems(['/a/1', '/b/1', '/c/1', '/d/1', '/e/1'].map((path, i) => ({ name: `n${i}`, path })))).toEqual([
      'spec.export.artifacts[4].path: /e/1 would need a scratch folder at /e, beyond the 4 a cell gets: declare a spec.run.tmpfs that holds these artifacts',
    ]);
  });
});
