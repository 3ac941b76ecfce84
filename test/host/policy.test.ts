// A document never gets more than its host grants, against real runsc: memory always limited,
// root only with consent, secrets only where granted and never in what the host reports, host
// mounts exactly the folders checked, the host's state out of every cell's reach. Each refusal
// names the field and the rule, leaves nothing on the host, and the host keeps serving.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleConfigError } from '../../src/bundle/errors.ts';
import { parseCellDocument } from '../../src/document/parse.ts';
import type { CellDocument } from '../../src/document/schema.ts';
import type { CellHost } from '../../src/host/cell-host.ts';
import type { HostConfigInput } from '../../src/host/config.ts';
import { runCell } from '../../src/host/run-cell.ts';
import { rawDocument } from '../helpers/documents.ts';
import { cellDoc, discardCell, expectNoLeftovers, leftovers, makeTestHost, repoRoot } from '../helpers/host.ts';
import { until } from '../helpers/wait.ts';
import { withEnv } from '../helpers/env.ts';

const MiB = 1024 * 1024;
type TestHost = Awaited<ReturnType<typeof makeTestHost>>;

const sh = (script: string, run: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
  cellDoc(['/bin/sh', '-c', script], run, spec);

const hosts: TestHost[] = [];
async function host(overrides: HostConfigInput = {}): Promise<TestHost> {
  const h = await makeTestHost(overrides);
  hosts.push(h);
  return h;
}
afterAll(async () => {
  for (const h of hosts) await h.cleanupDir();
});

/** A cell that has nothing to do with the attack finishes normally, and on time, on the same host. */
async function expectInnocentRuns(h: CellHost): Promise<void> {
  const started = Date.now();
  const exit = await runCell(h, sh('echo innocent'));
  expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
  expect(exit.stdout.tail).toBe('innocent\n');
  expect(Date.now() - started).toBeLessThan(5000);
}

/** prepare refuses the document with a CellRejectedByHost error whose message matches, leaving nothing. */
async function expectRefused(h: CellHost, doc: CellDocument, message: RegExp): Promise<Error> {
  const err = await h.prepare(doc, `refused-${Date.now()}`).then(
    () => new Error('prepared'),
    (e: unknown) => e as Error,
  );
  expect(err.message).toMatch(message);
  expect((err as { failureType?: string }).failureType).toBe('CellRejectedByHost');
  await expectNoLeftovers(h);
  return err;
}

const memoryHog = 'x=a; while true; do x="$x$x"; done';

describe('memory: every cell has a limit (issue 9, item 5)', () => {
  let h: TestHost;
  beforeAll(async () => {
    h = await host({ defaultMemoryBytes: 64 * MiB, maxMemoryBytes: 256 * MiB });
  });

  it("OOM-kills a memory hog that names no limit at the host's default, and reports that limit", async () => {
    const exit = await runCell(h, sh(memoryHog));
    expect(exit.outcome).toEqual({ kind: 'oom', memoryMaxBytes: 64 * MiB });
    await expectNoLeftovers(h);
    await expectInnocentRuns(h);
  }, 30_000);

  it("puts the host's default into the cell's own cgroup", async () => {
    const handle = await h.launch(sh('sleep 30'), `cg-${Date.now()}`);
    try {
      await until(
        'the sandbox runs',
        () => h.state(handle),
        (s) => s === 'running',
      );
      const dir = join(
        '/sys/fs/cgroup',
        h.cgroupMode === 'v2' ? '' : 'memory',
        h.config.cgroupParent,
        handle.sandboxId,
      );
      const file = h.cgroupMode === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
      expect(Number(await readFile(join(dir, file), 'utf8'))).toBe(64 * MiB);
      expect(handle.memoryMaxBytes).toBe(64 * MiB);
    } finally {
      await discardCell(h, handle);
    }
    await expectNoLeftovers(h);
  }, 30_000);

  it("refuses a document over the host's maximum, naming the field, and creates nothing", async () => {
    const doc = sh('true', { limits: { memoryMaxBytes: 512 * MiB } });
    await expectRefused(h, doc, /spec\.run\.limits\.memoryMaxBytes 536870912 is over this host's maximum of 268435456/);
    await expectInnocentRuns(h);
  }, 30_000);

  it('refuses tmpfs sizes over the cell memory, naming the entry', async () => {
    const doc = sh('true', {
      tmpfs: [
        { path: '/tmp', sizeBytes: 32 * MiB },
        { path: '/home', sizeBytes: 48 * MiB },
      ],
    });
    await expectRefused(
      h,
      doc,
      /spec\.run\.tmpfs\[1\]\.sizeBytes: the tmpfs sizes add up to 83886080 bytes, more than the cell's memory of 67108864/,
    );
  }, 30_000);

  it('stops a tmpfs fill at its size', async () => {
    const exit = await runCell(
      h,
      sh('dd if=/dev/zero of=/tmp/fill bs=1048576 count=100 2>&1; echo rc=$?; stat -c size=%s /tmp/fill', {
        tmpfs: [{ path: '/tmp', sizeBytes: 8 * MiB }],
      }),
    );
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.stdout.tail).toMatch(/No space left on device/);
    expect(exit.stdout.tail).toMatch(/rc=1/);
    const size = Number(/size=(\d+)/.exec(exit.stdout.tail)![1]);
    expect(size).toBeLessThanOrEqual(8 * MiB);
    expect(size).toBeGreaterThan(7 * MiB);
    await expectInnocentRuns(h);
  }, 30_000);

  it("ends a fill of the default /tmp within the cell's memory, never past it", async () => {
    // The default /tmp is as large as the cell memory (64 MiB here), and what it holds is memory:
    // the fill ends with a full /tmp or with the cell OOM-killed, and the host is unaffected.
    const exit = await runCell(h, sh('dd if=/dev/zero of=/tmp/fill bs=1048576 count=200 2>&1; echo rc=$?'));
    if (exit.outcome.kind === 'oom') expect(exit.outcome.memoryMaxBytes).toBe(64 * MiB);
    else {
      expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
      expect(exit.stdout.tail).toMatch(/No space left on device/);
    }
    await expectInnocentRuns(h);
  }, 30_000);
});

describe('root only with the operator consent (issue 9, item 1)', () => {
  let h: TestHost;
  beforeAll(async () => {
    h = await host();
  });

  it.each([
    [{ uid: 0, gid: 0 }, 'spec.run.user.uid'],
    [{ uid: 1000, gid: 0 }, 'spec.run.user.gid'],
    [{ uid: 1000, gid: 1000, additionalGids: [27, 0] }, 'spec.run.user.additionalGids[1]'],
  ])(
    'refuses user %j naming %s, and creates nothing',
    async (user, field) => {
      const err = await expectRefused(h, sh('id', { user }), /is 0 \(root\), which this host does not allow/);
      expect(err).toBeInstanceOf(BundleConfigError);
      expect(err.message).toContain(`${field} is 0`);
      expect(err.message).toContain('CELLOS_ALLOW_ROOT_USER');
      await expectInnocentRuns(h);
    },
    30_000,
  );

  it('runs uid 0 and group 0 where the operator allows root', async () => {
    const rootHost = await host({ allowRootUser: true });
    const exit = await runCell(rootHost, sh('id -u; id -g; id -G', { user: { uid: 0, gid: 0, additionalGids: [0] } }));
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.stdout.tail.split('\n').slice(0, 2)).toEqual(['0', '0']);
    await expectNoLeftovers(rootHost);
  }, 30_000);
});

// Its base64 has + and / (standard and URL-safe differ); no character the shell would bend.
const SECRET = 'k>?~s3cr3t-value+/=';
const OTHER = 'other-tenant-secret-7f3a';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('secrets: granted per cell, redacted from what the host reports (issue 9, item 4)', () => {
  let h: TestHost;
  beforeAll(async () => {
    h = await host({
      secrets: { TOKEN: SECRET, OTHER },
      secretGrants: { TOKEN: ['sec-*'], OTHER: ['other-tenant'] },
    });
  });
  const secretDoc = (script: string, refs: string[], prefix = 'sec', run: Record<string, unknown> = {}) =>
    parseCellDocument(
      rawDocument(['/bin/sh', '-c', script], { prefix, spec: { authority: { secretRefs: refs } }, run }),
    );

  it('refuses a secret not granted to the cell, naming it and never its value', async () => {
    for (const doc of [secretDoc('true', ['TOKEN'], 'nosec'), secretDoc('true', ['TOKEN', 'OTHER'])]) {
      const err = await expectRefused(
        h,
        doc,
        /secret (TOKEN|OTHER) \(spec\.authority\.secretRefs\[\d\]\) is not granted to this cell/,
      );
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain(OTHER);
    }
    await expectInnocentRuns(h);
  }, 30_000);

  it("redacts the secret, its base64 forms and a copy at each byte offset from the cell's result", async () => {
    const script = [
      'echo "plain=$TOKEN"',
      'printf %s "$TOKEN" | base64',
      "printf %s \"$TOKEN\" | base64 | tr '+/' '-_'",
      'printf x%s "$TOKEN" | base64',
      'printf xy%s "$TOKEN" | base64',
      'echo "err=$TOKEN" >&2',
    ].join('; ');
    const exit = await runCell(h, secretDoc(script, ['TOKEN']));
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    const all = `${exit.stdout.tail}\n${exit.stderr.tail}`;
    for (const form of [
      SECRET,
      b64(SECRET),
      b64(SECRET).slice(4, 20),
      b64(`x${SECRET}`).slice(4, 20),
      b64(`xy${SECRET}`).slice(4, 20),
    ]) {
      expect(all).not.toContain(form);
    }
    expect(all).not.toContain(b64(SECRET).replace(/\+/g, '-').replace(/\//g, '_').slice(0, 20));
    expect(exit.stdout.tail.match(/\[redacted:TOKEN\]/g)).toHaveLength(5);
    expect(exit.stdout.tail).toMatch(/^plain=\[redacted:TOKEN\]\n/);
    expect(exit.stderr.tail).toBe('err=[redacted:TOKEN]\n');
    await expectNoLeftovers(h);
  }, 30_000);

  it('redacts the secret from the output tails that heartbeats carry while the cell runs', async () => {
    const doc = secretDoc('echo "$TOKEN"; printf %s "$TOKEN" | base64; echo done; sleep 30', ['TOKEN']);
    const handle = await h.launch(doc, `hb-${Date.now()}`);
    try {
      const out = await until(
        'the cell wrote its lines',
        () => h.readOutput(handle, 16 * 1024),
        (o) => o.stdout.tail.includes('done'),
      );
      expect(out.stdout.tail).toBe('[redacted:TOKEN]\n[redacted:TOKEN]\ndone\n');
      // A short tail that cuts the base64 line: its last 8 characters are left, and redacted too.
      const short = await h.readOutput(handle, 8 + '\ndone\n'.length);
      expect(short.stdout.tail).toBe('[redacted:TOKEN]\ndone\n');
    } finally {
      await discardCell(h, handle);
    }
    await expectNoLeftovers(h);
  }, 30_000);

  it("redacts a secret cut in two by the start of the result's tail", async () => {
    const tiny = await host({ secrets: { TOKEN: SECRET }, secretGrants: { TOKEN: ['*'] }, outputTailBytes: 64 });
    // The last 64 bytes: the secret's last 8 characters, then 56 of y.
    const exit = await runCell(tiny, secretDoc('printf %s "$TOKEN"; printf "%056d" 0 | tr 0 y', ['TOKEN']));
    expect(exit.stdout.bytes).toBe(SECRET.length + 56);
    expect(exit.stdout.tail).toBe(`[redacted:TOKEN]${'y'.repeat(56)}`);
    await expectNoLeftovers(tiny);
  }, 30_000);

  it("keeps the worker's secrets and keys out of the environment of the supervisor and of runsc", async () => {
    const planted = {
      CELLOS_SECRET_PLANTED: 'planted-secret-value-1',
      CELLOS_PAYLOAD_KEYS: 'k1:planted-payload-key',
      TEMPORAL_API_KEY: 'planted-api-key',
      TEMPORAL_TLS_KEY: '/planted/tls/key.pem',
      CELLOS_ENV_CHECK_MARKER: 'present',
    };
    const envHost = await withEnv(planted, () => host({ secrets: { PLANTED: planted.CELLOS_SECRET_PLANTED } }));
    const handle = await envHost.launch(sh('sleep 30'), `env-${Date.now()}`);
    try {
      await until(
        'the sandbox runs',
        () => envHost.state(handle),
        (s) => s === 'running',
      );
      const supervisor = Number(await readFile(join(handle.cellDir, 'supervisor.pid'), 'utf8'));
      const tree = await until(
        'runsc, its gofer and its sandbox run',
        () => descendants(supervisor),
        (t) => ['runsc', 'runsc-gofer', 'runsc-sandbox'].every((n) => t.some((p) => p.argv0 === n)),
      );
      const checked = [{ pid: supervisor, argv0: 'supervisor' }, ...tree];
      const read = new Set<string>();
      for (const p of checked) {
        // A short-lived child (one of runsc's own helpers) may be gone since the listing.
        const environ = await readFile(`/proc/${p.pid}/environ`, 'utf8').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT' || err.code === 'ESRCH') return undefined;
          throw err;
        });
        if (environ === undefined) continue;
        read.add(p.argv0);
        for (const [name, value] of Object.entries(planted)) {
          if (name === 'CELLOS_ENV_CHECK_MARKER') continue;
          expect(environ, `${p.argv0} (${p.pid}) environment`).not.toContain(`${name}=`);
          expect(environ, `${p.argv0} (${p.pid}) environment`).not.toContain(value);
        }
      }
      // Every long-lived process was read.
      expect([...read]).toEqual(expect.arrayContaining(['supervisor', 'runsc', 'runsc-gofer', 'runsc-sandbox']));
      // The supervisor does get the rest of the worker's environment: the check reads the right thing.
      expect(await readFile(`/proc/${supervisor}/environ`, 'utf8')).toContain('CELLOS_ENV_CHECK_MARKER=present');
    } finally {
      await discardCell(envHost, handle);
    }
    await expectNoLeftovers(envHost);
  }, 30_000);
});

/** The processes below `pid`, with their argv[0]. */
async function descendants(pid: number): Promise<{ pid: number; argv0: string }[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const found: { pid: number; argv0: string }[] = [];
  const walk = async (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      const argv0 = (await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '')).split('\0')[0]!;
      found.push({ pid: child, argv0 });
      await walk(child);
    }
  };
  await walk(pid);
  return found;
}

describe('host mounts are exactly the folders checked (issue 9, item 6)', () => {
  let h: TestHost;
  let dir: string;
  let allowed: string;
  let outside: string;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'cellos-mounts-')));
    allowed = join(dir, 'allowed');
    outside = join(dir, 'outside');
    for (const d of [join(allowed, 'ok'), join(allowed, 'swapped'), outside]) {
      await mkdir(d, { recursive: true });
    }
    await writeFile(join(allowed, 'ok', 'marker'), 'inside\n');
    await writeFile(join(allowed, 'swapped', 'marker'), 'inside\n');
    await writeFile(join(outside, 'marker'), 'outside-secret\n');
    await symlink(join(allowed, 'ok'), join(allowed, 'link'));
    await symlink(outside, join(allowed, 'leads-out'));
    await symlink(join(dir, 'no-such-folder'), join(allowed, 'leads-nowhere'));
    h = await host({ allowedMounts: [allowed] });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const mountDoc = (source: string) => sh('cat /work/marker', { mounts: [{ source, destination: '/work' }] });

  it('names the resolved folder in the bundle, with the check that runs before the workload', async () => {
    const handle = await h.prepare(mountDoc(join(allowed, 'link')), `resolved-${Date.now()}`);
    try {
      const config = JSON.parse(await readFile(join(handle.bundleDir, 'config.json'), 'utf8'));
      const bind = config.mounts.find((m: { destination: string }) => m.destination === '/work');
      expect(bind.source).toBe(join(allowed, 'ok'));
      expect(config.hooks.prestart).toHaveLength(1);
      expect(config.hooks.prestart[0].args).toEqual(expect.arrayContaining(['cellos-mount-check', '/work']));
    } finally {
      await h.remove(handle);
    }
    const exit = await runCell(h, mountDoc(join(allowed, 'link')));
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(exit.stdout.tail).toBe('inside\n');
    await expectNoLeftovers(h);
  }, 30_000);

  it('checks the mounts of 8 cells launched at once, each against its own gofer', async () => {
    const exits = await Promise.all(Array.from({ length: 8 }, () => runCell(h, mountDoc(join(allowed, 'ok')))));
    expect(exits.map((e) => [e.outcome, e.stdout.tail])).toEqual(
      Array(8).fill([{ kind: 'exited', code: 0 }, 'inside\n']),
    );
    await expectNoLeftovers(h);
  }, 60_000);

  it('refuses a symlink that leads outside, in words that do not tell whether its target exists', async () => {
    const a = await expectRefused(h, mountDoc(join(allowed, 'leads-out')), /spec\.run\.mounts\[0\]\.source/);
    const b = await expectRefused(h, mountDoc(join(allowed, 'leads-nowhere')), /spec\.run\.mounts\[0\]\.source/);
    const words = (m: string, name: string) => m.replace(/^cell \S+: /, '').replace(name, 'X');
    expect(words(a.message, 'leads-out')).toBe(words(b.message, 'leads-nowhere'));
    expect(a.message).not.toContain(outside);
    await expectInnocentRuns(h);
  }, 30_000);

  it('refuses, before the workload runs, a folder swapped for a symlink after the check', async () => {
    const swapped = join(allowed, 'swapped');
    const handle = await h.prepare(mountDoc(swapped), `swap-${Date.now()}`);
    await rename(swapped, `${swapped}.real`);
    await symlink(outside, swapped);
    try {
      await h.start(handle);
      const exit = await h.wait(handle);
      expect(exit.outcome.kind).toBe('failed');
      expect(JSON.stringify(exit.outcome)).toMatch(/host folder mounted at \/work is not the one the host checked/);
      expect(exit.stdout.tail).toBe('');
      expect(JSON.stringify(exit)).not.toContain('outside-secret');
    } finally {
      await h.remove(handle);
      await rm(swapped);
      await rename(`${swapped}.real`, swapped);
    }
    await expectNoLeftovers(h);
    await expectInnocentRuns(h);
  }, 30_000);

  /** Runs `tries` cells on `source` while swap-path swaps it; counts how each ended. */
  async function raceTries(args: string[], source: string, tries: number) {
    const swapper = spawn(process.execPath, [join(repoRoot, 'test/fixtures/swap-path.mjs'), ...args, '1'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let swaps = '';
    swapper.stdout.on('data', (d: Buffer) => (swaps += String(d)));
    const done = new Promise<void>((resolve) => swapper.once('exit', () => resolve()));
    const seen = { inside: 0, refusedAtPrepare: 0, refusedAtLaunch: 0, otherFailure: 0, escaped: 0 };
    try {
      for (let i = 0; i < tries; i++) {
        const exit = await runCell(h, mountDoc(source)).catch((err: Error) => err);
        if (exit instanceof Error) {
          expect(exit).toBeInstanceOf(BundleConfigError);
          seen.refusedAtPrepare++;
        } else if (JSON.stringify(exit).includes('outside-secret')) seen.escaped++;
        else if (exit.stdout.tail === 'inside\n') seen.inside++;
        else if (/not the one the host checked/.test(JSON.stringify(exit.outcome))) seen.refusedAtLaunch++;
        else {
          seen.otherFailure++;
          console.log(`mount race ${args[0]}, other failure: ${JSON.stringify(exit.outcome)}`);
        }
      }
    } finally {
      swapper.kill('SIGTERM');
      await done;
    }
    console.log(`mount race ${args[0]}: ${JSON.stringify(seen)} over ${tries} tries, ${swaps.trim()} swaps`);
    return seen;
  }

  it('lets no swapped symlink escape the allowlist while cells prepare (24 tries)', async () => {
    const seen = await raceTries(
      ['link', join(allowed, 'link'), join(allowed, 'ok'), outside],
      join(allowed, 'link'),
      24,
    );
    expect(seen.escaped).toBe(0);
    expect(seen.inside + seen.refusedAtPrepare + seen.refusedAtLaunch + seen.otherFailure).toBe(24);
    await expectNoLeftovers(h);
    await expectInnocentRuns(h);
  }, 120_000);

  it('lets no folder renamed and replaced by a symlink escape while cells prepare and launch (24 tries)', async () => {
    const source = join(allowed, 'swapped');
    const seen = await raceTries(['dir', source, outside], source, 24);
    expect(seen.escaped).toBe(0);
    expect(seen.inside + seen.refusedAtPrepare + seen.refusedAtLaunch + seen.otherFailure).toBe(24);
    await expectNoLeftovers(h);
    await expectInnocentRuns(h);
  }, 120_000);
});

describe("the host's state is out of every cell's reach (issue 9, items 1 and 5)", () => {
  let h: TestHost;
  let dir: string;
  let allowed: string;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'cellos-state-')));
    allowed = join(dir, 'allowed');
    await mkdir(join(allowed, 'data'), { recursive: true });
    h = await host({
      allowedMounts: [allowed],
      secrets: { VICTIM_TOKEN: 'victim-secret-value-1' },
      secretGrants: { VICTIM_TOKEN: ['victim-*'] },
    });
    await symlink(h.config.stateDir, join(allowed, 'to-state'));
    await symlink(h.config.bundleDir, join(allowed, 'to-bundles'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses every document field that would reach another running cell's bundle (and its secret)", async () => {
    const victimDoc = parseCellDocument(
      rawDocument(['/bin/sh', '-c', 'sleep 60'], {
        prefix: 'victim',
        spec: { authority: { secretRefs: ['VICTIM_TOKEN'] } },
      }),
    );
    const victim = await h.launch(victimDoc, `victim-${Date.now()}`);
    try {
      await until(
        'the victim runs',
        () => h.state(victim),
        (s) => s === 'running',
      );
      const supervisor = Number(await readFile(join(victim.cellDir, 'supervisor.pid'), 'utf8'));
      const victimConfig = join(victim.bundleDir, 'config.json');
      expect(await readFile(victimConfig, 'utf8')).toContain('victim-secret-value-1');
      const { stateDir, bundleDir, cellsDir } = h.config;
      const read = `cat /work/config.json /work/*/config.json /work/bundles/*/config.json 2>&1; ls -R /work /`;
      const attacks: [string, Record<string, unknown>][] = [
        ...['/', dir, stateDir, bundleDir, victim.bundleDir, cellsDir, `/proc/${supervisor}/root`].map(
          (path): [string, Record<string, unknown>] => [`rootfs.path ${path}`, { rootfs: { path } }],
        ),
        ...[victimConfig, join(victim.cellDir, 'launch.env'), `/proc/${supervisor}/root${victimConfig}`].map(
          (image): [string, Record<string, unknown>] => [`rootfs.image ${image}`, { rootfs: { image } }],
        ),
        ...[
          '/',
          dir,
          stateDir,
          bundleDir,
          victim.bundleDir,
          victimConfig,
          cellsDir,
          `/proc/${supervisor}/cwd`,
          `/proc/self/root${bundleDir}`,
          join(allowed, 'to-state'),
          join(allowed, 'to-bundles'),
          join(allowed, 'to-bundles', victim.sandboxId),
        ].map((source): [string, Record<string, unknown>] => [
          `mounts[0].source ${source}`,
          { mounts: [{ source, destination: '/work' }] },
        ]),
        // Root, in case it would read a root-only file.
        [
          `mounts[0].source ${bundleDir} as root`,
          { mounts: [{ source: bundleDir, destination: '/work' }], user: { uid: 0, gid: 0 } },
        ],
      ];
      const outcomes: string[] = [];
      for (const [what, run] of attacks) {
        let doc: CellDocument;
        try {
          doc = sh(read, run);
        } catch (err) {
          // The schema refused it already (a host path it does not accept).
          outcomes.push(`${what}: document refused: ${(err as Error).message.split('\n')[0]}`);
          continue;
        }
        const result = await runCell(h, doc).then(
          (exit) => `RAN: ${JSON.stringify(exit)}`,
          (err: Error & { failureType?: string }) => `${err.failureType ?? 'NOT A REFUSAL'}: ${err.message}`,
        );
        outcomes.push(`${what}: ${result}`);
        // Nothing of the refused cell is left: only the victim's files, sandbox and cgroups.
        const extra = (await leftovers(h)).filter((l) => !l.includes(victim.sandboxId) && !l.startsWith('process'));
        expect(extra, what).toEqual([]);
      }
      for (const o of outcomes) {
        expect(o).not.toContain('victim-secret-value-1');
        expect(o).toMatch(/: (CellRejectedByHost|document refused): /);
      }
      // The victim was untouched, and the host still serves.
      expect(await h.state(victim)).toBe('running');
      await expectInnocentRuns(h);
    } finally {
      await discardCell(h, victim);
    }
    await expectNoLeftovers(h);
  }, 120_000);
});
