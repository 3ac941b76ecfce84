// Collecting artifacts out of a scratch folder that a hostile workload filled: real files in temp
// folders. The collector runs as root on the host; these tests run as root here (the mode 000
// test checks what a non-root run does instead).
import { execFileSync } from 'node:child_process';
import { chmod, link, mkdir, readFile, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectArtifact, collectArtifacts, type CollectResult } from '../../src/artifacts/collect.ts';
import { ARTIFACT_DEFAULTS, type ArtifactLimits } from '../../src/artifacts/limits.ts';
import { readTar, sha256Of, useTempDir } from './helpers.ts';

const tmp = useTempDir('cellos-artifacts-collect-');
const isRoot = process.getuid?.() === 0;
const GiB = 1024 * 1024 * 1024;

/** Collects `relativePath` of `mount` into a fresh out file; answers the result and the file. */
async function collect(
  mount: string,
  relativePath: string,
  limits: Partial<ArtifactLimits> = {},
): Promise<{ result: CollectResult; outFile: string }> {
  const outFile = join(await tmp.fresh('out-'), 'artifact');
  const result = await collectArtifact({
    mountRoot: mount,
    relativePath,
    outFile,
    limits: { ...ARTIFACT_DEFAULTS, ...limits },
  });
  return { result, outFile };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Expects a refusal with exactly `reason`, and no out file left behind. */
async function expectRefused(mount: string, relativePath: string, reason: string, limits?: Partial<ArtifactLimits>) {
  const { result, outFile } = await collect(mount, relativePath, limits);
  expect(result).toEqual({ ok: false, reason });
  expect(await exists(outFile)).toBe(false);
}

describe('collectArtifact: a file', () => {
  it('copies a regular file as it is and gives its size and sha256', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    const report = JSON.stringify({ passed: 12, failed: 0 });
    await writeFile(join(mount, 'out', 'report.json'), report);
    const { result, outFile } = await collect(mount, 'out/report.json');
    expect(result).toEqual({ ok: true, kind: 'file', bytes: report.length, sha256: sha256Of(report) });
    expect(await readFile(outFile, 'utf8')).toBe(report);
  });

  it('takes a file exactly at the byte limit and refuses one byte more', async () => {
    const mount = await tmp.fresh();
    await writeFile(join(mount, 'ten'), '0123456789');
    await writeFile(join(mount, 'eleven'), '0123456789A');
    const { result } = await collect(mount, 'ten', { maxBytesPerArtifact: 10 });
    expect(result).toMatchObject({ ok: true, bytes: 10 });
    await expectRefused(mount, 'eleven', 'over 10 bytes per artifact', { maxBytesPerArtifact: 10 });
  });

  it('refuses a sparse 1 GiB file over the per-artifact limit without reading it', async () => {
    const mount = await tmp.fresh();
    await writeFile(join(mount, 'huge'), '');
    await truncate(join(mount, 'huge'), GiB);
    const started = performance.now();
    await expectRefused(mount, 'huge', `over ${ARTIFACT_DEFAULTS.maxBytesPerArtifact} bytes per artifact`);
    // Reading 100 MiB of it alone would take far longer than this.
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses a missing artifact, and one whose folder is missing', async () => {
    const mount = await tmp.fresh();
    await expectRefused(mount, 'out/report.json', 'missing');
    await mkdir(join(mount, 'out'));
    await expectRefused(mount, 'out/report.json', 'missing');
  });

  it('refuses a path through a file, naming it', async () => {
    const mount = await tmp.fresh();
    await writeFile(join(mount, 'report.json'), '{}');
    await expectRefused(mount, 'report.json/x', 'not a directory on its path: "report.json"');
  });

  it('refuses a symlink to /etc/passwd at the end of the path', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    await symlink('/etc/passwd', join(mount, 'out', 'report.json'));
    await expectRefused(mount, 'out/report.json', 'a symlink');
  });

  it('refuses a symlink in the middle of the path: to a host folder, to .., and a loop', async () => {
    const mount = await tmp.fresh();
    await symlink('/etc', join(mount, 'out'));
    await expectRefused(mount, 'out/passwd', 'a symlink on its path: "out"');
    await mkdir(join(mount, 'a'));
    await symlink('..', join(mount, 'a', 'up'));
    await expectRefused(mount, 'a/up/a', 'a symlink on its path: "a/up"');
    await symlink('loop', join(mount, 'loop'));
    await expectRefused(mount, 'loop/x', 'a symlink on its path: "loop"');
    await expectRefused(mount, 'loop', 'a symlink');
  });

  it('refuses a fifo without opening it (an open would block)', { timeout: 5000 }, async () => {
    const mount = await tmp.fresh();
    execFileSync('mkfifo', [join(mount, 'pipe')]);
    await expectRefused(mount, 'pipe', 'a fifo');
  });

  it('refuses a socket', async () => {
    const mount = await tmp.fresh();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(mount, 'sock'), resolve));
    try {
      await expectRefused(mount, 'sock', 'a socket');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.runIf(isRoot)('refuses a device node (mknod needs root)', async () => {
    const mount = await tmp.fresh();
    execFileSync('mknod', [join(mount, 'null'), 'c', '1', '3']);
    await expectRefused(mount, 'null', 'a character device');
  });

  it('refuses a relative path that is not normalised, as the caller’s mistake', async () => {
    const mount = await tmp.fresh();
    await expect(collect(mount, '../etc/passwd')).rejects.toThrow(TypeError);
    await expect(collect(mount, '/etc/passwd')).rejects.toThrow(/normalised relative path/);
  });

  it('reads a mode 000 file owned by another uid when run as root; refuses it otherwise', async () => {
    const mount = await tmp.fresh();
    const file = join(mount, 'secret');
    await writeFile(file, 'locked away');
    await chmod(file, 0o000);
    if (isRoot) execFileSync('chown', ['65534:65534', file]);
    const { result, outFile } = await collect(mount, 'secret');
    if (isRoot) {
      expect(result).toMatchObject({ ok: true, kind: 'file', sha256: sha256Of('locked away') });
      expect(await readFile(outFile, 'utf8')).toBe('locked away');
    } else {
      expect(result).toEqual({ ok: false, reason: 'not readable' });
    }
  });
});

describe('collectArtifact: a directory', () => {
  it('writes a tar of its files and folders, depth first in byte order, with normalised metadata', async () => {
    const mount = await tmp.fresh();
    const out = join(mount, 'out');
    const longName = `${'n'.repeat(120)}.txt`;
    await mkdir(join(out, 'a', 'deep'), { recursive: true });
    await mkdir(join(out, 'empty'));
    await writeFile(join(out, 'b.txt'), 'bee');
    await writeFile(join(out, 'A'), 'upper');
    await writeFile(join(out, 'a', 'run.sh'), '#!/bin/sh\n', { mode: 0o700 });
    await writeFile(join(out, 'a', 'private'), 'p', { mode: 0o600 });
    await writeFile(join(out, 'a', 'deep', longName), 'long');
    await writeFile(join(out, 'line\nbreak'), 'nl');
    await writeFile(join(out, 'é.txt'), 'accent');
    if (isRoot) execFileSync('chown', ['-R', '1234:5678', out]);
    const mtime = new Date('2026-11-30T12:00:00Z');
    await utimes(join(out, 'b.txt'), mtime, mtime);

    const { result, outFile } = await collect(mount, 'out');
    const tarBytes = await readFile(outFile);
    expect(result).toEqual({ ok: true, kind: 'directory', bytes: tarBytes.length, sha256: sha256Of(tarBytes) });

    const entries = await readTar(outFile);
    expect(entries.map((e) => e.header.name)).toEqual([
      'A',
      'a/',
      'a/deep/',
      `a/deep/${longName}`,
      'a/private',
      'a/run.sh',
      'b.txt',
      'empty/',
      'line\nbreak',
      'é.txt',
    ]);
    const byName = new Map(entries.map((e) => [e.header.name, e]));
    expect(byName.get('a/run.sh')?.body).toBe('#!/bin/sh\n');
    expect(byName.get(`a/deep/${longName}`)?.body).toBe('long');
    expect(byName.get('é.txt')?.body).toBe('accent');
    expect(byName.get('line\nbreak')?.body).toBe('nl');
    expect(byName.get('b.txt')?.header.mtime).toEqual(mtime);
    const modes = Object.fromEntries(entries.map((e) => [e.header.name, [e.header.type, e.header.mode]]));
    expect(modes['a/']).toEqual(['directory', 0o755]);
    expect(modes['a/run.sh']).toEqual(['file', 0o755]);
    expect(modes['a/private']).toEqual(['file', 0o644]);
    for (const { header } of entries) {
      expect([header.uid, header.gid, header.uname, header.gname]).toEqual([0, 0, '', '']);
    }
  });

  it('gives the same bytes for the same tree collected twice', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out', 'z'), { recursive: true });
    for (const name of ['c', 'b', 'a', 'z/y']) await writeFile(join(mount, 'out', name), name);
    const first = await collect(mount, 'out');
    const second = await collect(mount, 'out');
    expect(first.result.ok).toBe(true);
    expect(second.result).toEqual(first.result);
  });

  it('collects the whole mount when the artifact is the mount point itself', async () => {
    const mount = await tmp.fresh();
    await writeFile(join(mount, 'f'), 'x');
    const { result, outFile } = await collect(mount, '');
    expect(result).toMatchObject({ ok: true, kind: 'directory' });
    expect((await readTar(outFile)).map((e) => e.header.name)).toEqual(['f']);
  });

  it('copies hard-linked files as two files', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    await writeFile(join(mount, 'out', 'one'), 'same inode');
    await link(join(mount, 'out', 'one'), join(mount, 'out', 'two'));
    const { outFile } = await collect(mount, 'out');
    expect((await readTar(outFile)).map((e) => [e.header.name, e.header.type, e.body])).toEqual([
      ['one', 'file', 'same inode'],
      ['two', 'file', 'same inode'],
    ]);
  });

  it('refuses a directory that holds a symlink, naming it, rather than leave it out', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out', 'sub'), { recursive: true });
    await writeFile(join(mount, 'out', 'ok.txt'), 'fine');
    await symlink('/etc/passwd', join(mount, 'out', 'sub', 'link'));
    await expectRefused(mount, 'out', 'a symlink inside: "sub/link"');
  });

  it('refuses a directory that holds a fifo, without hanging', { timeout: 5000 }, async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    await writeFile(join(mount, 'out', 'a'), 'a');
    execFileSync('mkfifo', [join(mount, 'out', 'p')]);
    await expectRefused(mount, 'out', 'a fifo inside: "p"');
  });

  it('refuses a name that is not UTF-8 (a tar name for it would name another file)', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    await writeFile(Buffer.concat([Buffer.from(join(mount, 'out', 'bad')), Buffer.from([0xff])]), 'x');
    const { result } = await collect(mount, 'out');
    expect(result).toEqual({ ok: false, reason: 'a name that is not UTF-8 inside: "bad\uFFFD"' });
  });

  it('refuses a sparse 1 GiB file inside the directory without reading it', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    await writeFile(join(mount, 'out', 'small'), 'x');
    await writeFile(join(mount, 'out', 'sparse'), '');
    await truncate(join(mount, 'out', 'sparse'), GiB);
    const started = performance.now();
    await expectRefused(mount, 'out', `over ${ARTIFACT_DEFAULTS.maxBytesPerArtifact} bytes per artifact`);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('counts the tar, headers included, against the byte limit', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    // Three 1000-byte files: 3000 bytes of content, 5632 bytes of tar (a 512-byte header and a
    // body padded to 1024 each, then two closing blocks).
    for (const name of ['a', 'b', 'c']) await writeFile(join(mount, 'out', name), 'x'.repeat(1000));
    await expectRefused(mount, 'out', 'over 4096 bytes per artifact', { maxBytesPerArtifact: 4096 });
    await expectRefused(mount, 'out', 'over 5631 bytes per artifact', { maxBytesPerArtifact: 5631 });
    const { result } = await collect(mount, 'out', { maxBytesPerArtifact: 5632 });
    expect(result).toMatchObject({ ok: true, bytes: 5632 });
  });

  it('refuses when pax headers of long names take the tar past the limit', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out'));
    // 0 bytes of content, but the name needs a pax header: 2560 bytes of tar for a limit of 2000.
    await writeFile(join(mount, 'out', 'x'.repeat(200)), '');
    await expectRefused(mount, 'out', 'over 2000 bytes per artifact', { maxBytesPerArtifact: 2000 });
  });

  it('refuses a directory with more entries than the limit, folders counted', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out', 'sub'), { recursive: true });
    for (const name of ['1', '2', 'sub/3']) await writeFile(join(mount, 'out', name), name);
    // 1, 2, sub, sub/3: four entries.
    expect((await collect(mount, 'out', { maxFilesPerArtifact: 4 })).result.ok).toBe(true);
    await expectRefused(mount, 'out', 'over 3 files per artifact', { maxFilesPerArtifact: 3 });
  });

  it('refuses a tree deeper than the limit', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out', 'a', 'b'), { recursive: true });
    await writeFile(join(mount, 'out', 'a', 'b', 'c'), 'three levels down');
    expect((await collect(mount, 'out', { maxDepth: 3 })).result.ok).toBe(true);
    await expectRefused(mount, 'out', 'over 2 levels deep', { maxDepth: 2 });
  });

  it('reads mode 000 folders and files when run as root; refuses them otherwise', async () => {
    const mount = await tmp.fresh();
    await mkdir(join(mount, 'out', 'shut'), { recursive: true });
    await writeFile(join(mount, 'out', 'shut', 'f'), 'inside');
    await chmod(join(mount, 'out', 'shut', 'f'), 0o000);
    await chmod(join(mount, 'out', 'shut'), 0o000);
    const { result, outFile } = await collect(mount, 'out');
    await chmod(join(mount, 'out', 'shut'), 0o755);
    if (isRoot) {
      expect(result.ok).toBe(true);
      expect((await readTar(outFile)).map((e) => [e.header.name, e.header.mode, e.body])).toEqual([
        ['shut/', 0o755, ''],
        ['shut/f', 0o644, 'inside'],
      ]);
    } else {
      expect(result).toEqual({ ok: false, reason: 'not readable inside: "shut/"' });
    }
  });
});

describe('collectArtifact on a tmpfs, as the host mounts it (mount needs root)', () => {
  it.runIf(isRoot)('collects from the tmpfs and refuses what lies on another filesystem', async () => {
    const mount = await tmp.fresh('tmpfs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
    try {
      await mkdir(join(mount, 'out', 'other'), { recursive: true });
      await writeFile(join(mount, 'out', 'report.txt'), 'on the tmpfs');
      const { result } = await collect(mount, 'out/report.txt');
      expect(result).toMatchObject({ ok: true, sha256: sha256Of('on the tmpfs') });
      // A filesystem mounted inside the scratch mount is not the cell's to export.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(mount, 'out', 'other')]);
      try {
        await expectRefused(mount, 'out', 'on another filesystem inside: "other"');
        await expectRefused(mount, 'out/other', 'on another filesystem');
      } finally {
        execFileSync('umount', [join(mount, 'out', 'other')]);
      }
    } finally {
      execFileSync('umount', [mount]);
    }
  });
});

describe('collectArtifacts', () => {
  it('applies the per-cell limit across artifacts; one refused takes nothing from it', async () => {
    const mount = await tmp.fresh();
    await writeFile(join(mount, 'first'), 'a'.repeat(80));
    await writeFile(join(mount, 'second'), 'b'.repeat(80));
    await writeFile(join(mount, 'third'), 'c'.repeat(60));
    const outDir = join(await tmp.fresh('cell-'), 'artifacts');
    const source = (name: string) => ({ name, path: `/scratch/${name}`, mountRoot: mount, relativePath: name });
    const got = await collectArtifacts({
      artifacts: ['first', 'second', 'third', 'nothing'].map(source),
      outDir,
      limits: { ...ARTIFACT_DEFAULTS, maxBytesPerArtifact: 100, maxBytesPerCell: 150 },
    });
    expect(got.refused).toEqual([
      { name: 'second', path: '/scratch/second', reason: 'over 150 bytes per cell' },
      { name: 'nothing', path: '/scratch/nothing', reason: 'missing' },
    ]);
    expect(got.collected).toEqual([
      {
        name: 'first',
        path: '/scratch/first',
        kind: 'file',
        bytes: 80,
        sha256: sha256Of('a'.repeat(80)),
        file: join(outDir, 'artifact-0'),
      },
      {
        name: 'third',
        path: '/scratch/third',
        kind: 'file',
        bytes: 60,
        sha256: sha256Of('c'.repeat(60)),
        file: join(outDir, 'artifact-2'),
      },
    ]);
    expect(await readFile(join(outDir, 'artifact-2'), 'utf8')).toBe('c'.repeat(60));
    expect(await exists(join(outDir, 'artifact-1'))).toBe(false);
  });
});
