// Which documents run in a warm sandbox, and what is exec'd there: pure, no runsc.
import { describe, expect, test } from 'vitest';
import { generateBundleConfig, type BundleHostOptions } from '../../src/bundle/config.ts';
import {
  WARM_INIT_ARGV,
  cellProcessOf,
  sandboxShapeKey,
  warmInitProcessOf,
  warmMisfit,
  warmShapeInput,
} from '../../src/bundle/warm-shape.ts';
import { parseCellDocument, type CellDocument } from '../../src/document/index.ts';
import { cellDocument } from '../helpers/documents.ts';
import { validateOciConfig } from '../helpers/oci-schema.ts';

const MiB = 1024 * 1024;
const host: BundleHostOptions = {
  sandboxId: 'probe',
  rootfsPath: '/rootfs',
  cgroupsPath: '/cellos/h/x/sandbox',
  secretEnv: { TOKEN: 's3cret' },
  secretGrants: { TOKEN: ['*'] },
};
const configOf = (doc: CellDocument) => generateBundleConfig(doc, host);
const shape = configOf(parseCellDocument(warmShapeInput('cellos-warm')));
const shapeKey = sandboxShapeKey(shape);
const misfit = (argv: string[], run: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => {
  const doc = cellDocument(argv, { run, spec });
  return warmMisfit(doc, configOf(doc), shapeKey);
};

describe('the warm shape', () => {
  test("is a valid OCI config whose process is the idle init, as the host's default cell would be", () => {
    expect(validateOciConfig(shape)).toEqual([]);
    expect(shape.process.args).toEqual([...WARM_INIT_ARGV]);
    expect(shape.root).toEqual({ path: '/rootfs', readonly: true });
    expect(shape.process.capabilities.bounding).toEqual([]);
  });

  test('fits what a cell may set per process: argv, env, secrets, cwd, user', () => {
    expect(misfit(['/bin/true'])).toBeUndefined();
    expect(
      misfit(['/bin/sh', '-c', 'echo $A'], {
        env: { A: 'b' },
        workingDirectory: '/tmp',
        user: { uid: 1000, gid: 1000, additionalGids: [5] },
        output: { maxStdoutBytes: 10 },
        limits: { gracefulShutdownSeconds: 1 },
      }),
    ).toBeUndefined();
    expect(misfit(['/bin/true'], {}, { authority: { secretRefs: ['TOKEN'] } })).toBeUndefined();
  });

  test('fits any memory the host writes into cgroups, down to the default /tmp and /dev sizes', () => {
    expect(misfit(['/bin/true'], { limits: { memoryMaxBytes: 64 * MiB } })).toBeUndefined();
    expect(misfit(['/bin/true'], { limits: { memoryMaxBytes: 4096 * MiB } })).toBeUndefined();
    // Under 64 MiB the default /tmp and /dev shrink with the memory: fixed at boot.
    expect(misfit(['/bin/true'], { limits: { memoryMaxBytes: 32 * MiB } })).toMatch(/differs from the warm shape/);
  });

  test.each([
    ['a cpu quota', { limits: { cpuMax: { quotaMicros: 50_000, periodMicros: 100_000 } } }, /differs/],
    ['rlimits (runsc exec ignores a process spec rlimits)', { rlimits: { openFiles: 100 } }, /differs/],
    ['a file size rlimit', { rlimits: { fileSizeBytes: 4096 } }, /differs/],
    ['a tmpfs', { tmpfs: [{ path: '/scratch', sizeBytes: MiB }] }, /differs/],
    ['its own /tmp', { tmpfs: [{ path: '/tmp', sizeBytes: MiB }] }, /differs/],
    ['its own rootfs', { rootfs: { path: '/other' } }, /own rootfs/],
    ['host mounts', { mounts: [{ source: '/srv', destination: '/srv' }] }, /mounts host folders/],
    ['sandbox network', { network: 'sandbox' }, /network is sandbox/],
    // The init of a warm sandbox is root: a root cell could signal or trace it.
    ['a root user', { user: { uid: 0, gid: 0 } }, /runs as root/],
  ])('does not fit %s', (_what, run, why) => {
    const doc = cellDocument(['/bin/true'], { run });
    // The bundle as a host with the document's mounts allowed would make it.
    const cfg = generateBundleConfig(doc, {
      ...host,
      allowedMounts: ['/srv'],
      allowSandboxNetwork: true,
      allowRootUser: true,
    });
    expect(warmMisfit(doc, cfg, shapeKey)).toMatch(why);
  });
});

describe('what runs in a warm sandbox', () => {
  test("the cell's process is its bundle's own: no capability, its user, env and rlimits", () => {
    const doc = cellDocument(['/bin/sh', '-c', 'id'], {
      run: { user: { uid: 1234, gid: 4321 }, env: { A: '1' } },
      spec: { authority: { secretRefs: ['TOKEN'] } },
    });
    const cfg = configOf(doc);
    const p = cellProcessOf(cfg);
    expect(p).toEqual(cfg.process);
    expect(p.user).toMatchObject({ uid: 1234, gid: 4321 });
    expect(p.env).toEqual(expect.arrayContaining(['A=1', 'TOKEN=s3cret']));
    expect(Object.values(p.capabilities).flat()).toEqual([]);
    expect(p.noNewPrivileges).toBe(true);
  });

  test("a warm sandbox's init is root with only CAP_SYS_ADMIN, runs a fixed program of the host's and idles with the shape's argv and rlimits", () => {
    const init = warmInitProcessOf(shape);
    expect(validateOciConfig({ ...shape, process: init })).toEqual([]);
    expect(init.args.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    // The script reads the name as data ("$name", one line), never as code or an option.
    expect(init.args[2]).toContain('read -r name && /bin/hostname "$name"');
    expect(init.args.slice(-WARM_INIT_ARGV.length)).toEqual([...WARM_INIT_ARGV]);
    expect(init.user).toMatchObject({ uid: 0, gid: 0 });
    expect(init.capabilities.bounding).toEqual(['CAP_SYS_ADMIN']);
    expect(init.capabilities.ambient).toEqual([]);
    expect(init.noNewPrivileges).toBe(true);
    expect(init.rlimits).toEqual(shape.process.rlimits);
    // Nothing of any document: no env, no secret.
    expect(init.env).toEqual(['PATH=/bin:/usr/bin']);
    // The process is not part of the shape: the key is unchanged.
    expect(sandboxShapeKey({ ...shape, process: { ...init, rlimits: shape.process.rlimits } })).toBe(shapeKey);
  });
});
