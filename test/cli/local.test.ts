// `cellos bundle`, `cellos exec` and usage errors, run as the real command (node bin/cellos.js).
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateBundleConfig, serializeBundleConfig } from '../../src/bundle/config.ts';
import { sandboxIdFor } from '../../src/bundle/ids.ts';
import { parseCellDocument } from '../../src/document/parse.ts';
import { createCellHost, type CellHost } from '../../src/host/cell-host.ts';
import { cellCgroupPath } from '../../src/host/cgroups.ts';
import { normalizeHostConfig } from '../../src/host/config.ts';
import { leftovers } from '../helpers/host.ts';
import {
  binPath,
  buildDist,
  cliDocument,
  cli,
  cliSandbox,
  hasStackTrace,
  startCli,
  type CliSandbox,
} from './cli-helpers.ts';

let box: CliSandbox;
/** The host `cellos exec` uses (same state dir and host id), to look for leftovers. */
let host: CellHost;

beforeAll(async () => {
  await buildDist();
  box = await cliSandbox();
  host = await createCellHost({
    hostId: box.hostId,
    stateDir: box.stateDir,
    defaultRootfs: box.env.CELLOS_DEFAULT_ROOTFS,
  });
});
afterEach(async () => {
  expect(await leftovers(host)).toEqual([]);
});
afterAll(async () => {
  await box?.cleanup();
});

describe('cellos bundle', () => {
  it('writes the config.json that generateBundleConfig makes for this host, mode 0600', async () => {
    const doc = cliDocument('echo hi', {
      run: { env: { GREETING: 'hello' }, limits: { memoryMaxBytes: 64 * 1024 * 1024 } },
    });
    const file = await box.doc('bundle-ok.json', doc);
    const out = join(box.dir, 'bundle-ok', 'nested');

    const r = await cli(['bundle', file, '--out', out, '--run-key', 'k1'], { env: box.env });

    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(out, 'config.json'));
    const written = await readFile(join(out, 'config.json'), 'utf8');
    const hostConfig = normalizeHostConfig({ hostId: box.hostId });
    const sandboxId = sandboxIdFor(doc.spec.id, 'k1');
    const expected = serializeBundleConfig(
      generateBundleConfig(parseCellDocument(doc), {
        sandboxId,
        rootfsPath: box.env.CELLOS_DEFAULT_ROOTFS!,
        cgroupsPath: cellCgroupPath(hostConfig.cgroupParent, sandboxId),
      }),
    );
    expect(written).toBe(expected);
    expect((await stat(join(out, 'config.json'))).mode & 0o777).toBe(0o600);
  });

  it('reads the document from stdin with -', async () => {
    const doc = cliDocument('true');
    const out = join(box.dir, 'bundle-stdin');
    const r = await cli(['bundle', '-', '--out', out, '--run-key', 'k2'], { env: box.env, stdin: JSON.stringify(doc) });
    expect(r.code).toBe(0);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { hostname: string };
    expect(config.hostname).toBe(doc.spec.id);
  });

  it('exits 3 on an invalid document, lists every problem with its path, and creates no folder', async () => {
    const file = await box.doc('bundle-bad.json', {
      apiVersion: 'cellos.io/v2',
      kind: 'ExecutionCell',
      spec: { id: '-bad', authority: {}, lifetime: { ttlSeconds: 0 }, run: { argv: [] } },
    });
    const out = join(box.dir, 'bundle-bad');

    const r = await cli(['bundle', file, '--out', out], { env: box.env });

    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid cell document');
    for (const path of ['apiVersion:', 'spec.id:', 'spec.lifetime.ttlSeconds:', 'spec.run.argv:']) {
      expect(r.stderr).toContain(path);
    }
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 3 on a document the host refuses (a secret it has no value for) and creates no folder', async () => {
    const file = await box.doc(
      'bundle-secret.json',
      cliDocument('true', { spec: { authority: { secretRefs: ['NOT_SET_ANYWHERE'] } } }),
    );
    const out = join(box.dir, 'bundle-secret');
    const r = await cli(['bundle', file, '--out', out], { env: box.env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('NOT_SET_ANYWHERE');
    expect(existsSync(out)).toBe(false);
  });

  it('exits 3 on text that is not JSON', async () => {
    const r = await cli(['bundle', '-', '--out', join(box.dir, 'bundle-nojson')], { env: box.env, stdin: '{ nope' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\(root\): stdin is not valid JSON/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});

describe('cellos exec', () => {
  it("prints the cell's output and exits with its code", async () => {
    const file = await box.doc('exec-3.json', cliDocument('echo hi; echo oops >&2; exit 3'));
    const r = await cli(['exec', file], { env: box.env });
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toContain('oops\n');
    expect(r.stderr).toContain('exited 3');
    expect(r.code).toBe(3);
  });

  it('prints the cell exit as JSON with --json, and nothing else on stdout', async () => {
    const file = await box.doc('exec-json.json', cliDocument('echo hi'));
    const r = await cli(['exec', file, '--json'], { env: box.env });
    expect(r.code).toBe(0);
    const exit = JSON.parse(r.stdout) as { outcome: unknown; stdout: { tail: string }; hostId: string };
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.stdout.tail).toBe('hi\n');
    expect(exit.hostId).toBe(box.hostId);
  });

  it('exits 124 when the cell ignores SIGTERM past its deadline and is killed', async () => {
    const file = await box.doc(
      'exec-deadline.json',
      cliDocument("trap '' TERM; sleep 30", { run: { limits: { gracefulShutdownSeconds: 1 } }, ttlSeconds: 1 }),
    );
    const r = await cli(['exec', file, '--json'], { env: box.env });
    expect(r.code).toBe(124);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: { kind: 'deadline', signal: 'SIGKILL' } });
  });

  it('kills the cell on Ctrl-C (reason "interrupted"), cleans up, and exits 130', async () => {
    const file = await box.doc(
      'exec-int.json',
      cliDocument('sleep 30', { run: { limits: { gracefulShutdownSeconds: 1 } } }),
    );
    const p = startCli(['exec', file, '--json'], { env: box.env });
    // Handled whether it lands before or after the sandbox started.
    await new Promise((r) => setTimeout(r, 1500));
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: { kind: 'killed', reason: 'interrupted' } });
  });

  it('exits 3 and touches nothing when the host refuses the document', async () => {
    const file = await box.doc(
      'exec-mount.json',
      cliDocument('true', { run: { mounts: [{ source: '/etc', destination: '/mnt' }] } }),
    );
    const r = await cli(['exec', file], { env: box.env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('spec.run.mounts[0].source');
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});

describe('usage', () => {
  const usage: [string, string[], RegExp][] = [
    ['no command', [], /usage: cellos <command>/],
    ['an unknown command', ['launch'], /unknown command "launch"/],
    ['an unknown flag', ['exec', 'x.json', '--jsno'], /Unknown option '--jsno'/],
    ['a missing argument', ['exec'], /expected <file>, got none/],
    ['an extra argument', ['exec', 'a.json', 'b.json'], /expected <file>, got "a.json" "b.json"/],
    ['bundle without --out', ['bundle', 'x.json'], /--out DIR is required/],
    ['a flag without its value', ['bundle', 'x.json', '--out'], /argument missing/],
    ['a bad number', ['worker', '--max-cells', '0'], /--max-cells "0" must be a whole number from 1 to 1000/],
    ['a bad cell id', ['status', '../etc'], /cell id "..\/etc" is invalid/],
    ['a bad cell id for logs', ['logs', 'a b'], /cell id "a b" is invalid/],
    ['an unknown outcome', ['ps', '--outcome', 'fine'], /--outcome "fine" must be one of exited/],
    ['schedule without a subcommand', ['schedule'], /a subcommand is required: create, list/],
    ['an unknown schedule subcommand', ['schedule', 'launch'], /unknown schedule subcommand "launch"/],
    ['a bad schedule id', ['schedule', 'delete', "it's"], /schedule id "it's" is invalid/],
    ['a bad interval', ['schedule', 'create', 's', '--every', 'soon', 'x.json'], /every "soon" must be a duration/],
    [
      'overlap terminate-other',
      ['schedule', 'trigger', 's', '--overlap', 'terminate-other'],
      /'terminate-other' is refused: terminating a cell's workflow skips its cleanup/,
    ],
    [
      'a backfill time that is not ISO 8601',
      ['schedule', 'backfill', 's', '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z'],
      /--from "yesterday" is not an ISO 8601 time/,
    ],
    [
      'a file that does not exist',
      ['exec', '/nonexistent/cell.json'],
      /cannot read the document \/nonexistent\/cell.json: no such file/,
    ],
  ];
  it.each(usage)('exits 1 with a message and no stack trace for %s', async (_what, args, message) => {
    const r = await cli(args, { env: box.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stdout).toBe('');
  });

  it('exits 1 naming the setting when the environment holds a bad one', async () => {
    const r = await cli(['exec', '-'], {
      env: { ...box.env, CELLOS_PLATFORM: 'qemu' },
      stdin: JSON.stringify(cliDocument('true')),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CELLOS_PLATFORM="qemu"');
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('bin/cellos.js says how to build dist/ when it is missing, and exits 1', async () => {
    const bin = join(box.dir, 'no-dist', 'bin', 'cellos.js');
    await mkdir(dirname(bin), { recursive: true });
    await copyFile(binPath, bin);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, 'exec', 'x.json'], (err, _stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run scripts/setup.sh (builds dist/)');
  });

  it.each([
    'bundle',
    'exec',
    'doctor',
    'run',
    'worker',
    'dev',
    'status',
    'kill',
    'ps',
    'describe',
    'logs',
    'schedule create',
  ])('prints help for %s with --help', async (name) => {
    const r = await cli([...name.split(' '), '--help'], { env: box.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`usage: cellos ${name}`);
  });
});
