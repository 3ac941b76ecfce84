import { describe, expect, test } from 'vitest';
import { thrownBy } from '../helpers/errors.ts';
import {
  BundleConfigError,
  DEFAULT_MEMORY_POLICY,
  DEFAULT_PATH,
  DEFAULT_TMP_BYTES,
  MASKED_PATHS,
  READONLY_PATHS,
  SANDBOX_MEMORY_HEADROOM,
  cellMemoryBytes,
  checkHostPolicy,
  generateBundleConfig,
  isAllowedHostPath,
  matchesCellPattern,
  sandboxIdFor,
  serializeBundleConfig,
  type BundleConfigErrorCode,
  type BundleHostOptions,
  type OciHook,
} from '../../src/bundle/index.ts';
import { parseCellDocument, type CellDocument } from '../../src/document/index.ts';
import {
  ALL_DOCUMENTS,
  FULL_DOCUMENT,
  REAL_DOCUMENT,
  documentJson,
  type LooseDocument,
} from '../fixtures/documents/load.ts';
import { validateOciConfig } from '../helpers/oci-schema.ts';

const MiB = 1024 * 1024;

const HOST: BundleHostOptions = {
  sandboxId: sandboxIdFor('t-timeout', 'run-1'),
  rootfsPath: '/var/lib/cellos/rootfs/busybox',
  cgroupsPath: '/cellos/t-timeout/sandbox',
};

/** A parsed example document, after `change` to its JSON. */
function cell(change: (doc: LooseDocument) => void = () => {}, name: string = REAL_DOCUMENT): CellDocument {
  const json = documentJson(name);
  change(json);
  return parseCellDocument(json);
}

function configOf(doc: CellDocument, host: Partial<BundleHostOptions> = {}) {
  return generateBundleConfig(doc, { ...HOST, ...host });
}

const bundleErrorOf = (run: () => unknown): BundleConfigError => thrownBy(run, BundleConfigError);

function expectBundleError(run: () => unknown, code: BundleConfigErrorCode, message?: RegExp) {
  const err = bundleErrorOf(run);
  expect(err.code).toBe(code);
  expect(err.name).toBe('BundleConfigError');
  if (message) expect(err.message).toMatch(message);
}

/** The same JSON value with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('generateBundleConfig, field by field', () => {
  test('declares OCI runtime-spec version 1.0.2', () => {
    expect(configOf(cell()).ociVersion).toBe('1.0.2');
  });

  test('runs argv as the process args, as a copy', () => {
    const doc = cell();
    const config = configOf(doc);
    expect(config.process.args).toEqual(['/bin/sh', '-c', 'sleep 2']);
    config.process.args.push('--extra');
    expect(doc.spec.run.argv).toEqual(['/bin/sh', '-c', 'sleep 2']);
  });

  test('gives the process only PATH and HOME when the document declares no env', () => {
    expect(configOf(cell()).process.env).toEqual([`PATH=${DEFAULT_PATH}`, 'HOME=/']);
  });

  test('adds the document env after PATH and HOME, sorted by name', () => {
    const doc = cell((d) => (d.spec.run.env = { ZETA: 'z', ALPHA: 'a', _UNDER: 'u', MID: 'm=with=equals' }));
    expect(configOf(doc).process.env).toEqual([
      `PATH=${DEFAULT_PATH}`,
      'HOME=/',
      'ALPHA=a',
      'MID=m=with=equals',
      'ZETA=z',
      '_UNDER=u',
    ]);
  });

  test('lets the document env replace PATH and HOME in place', () => {
    const doc = cell((d) => (d.spec.run.env = { HOME: '/work', PATH: '/bin', A: '1' }));
    expect(configOf(doc).process.env).toEqual(['PATH=/bin', 'HOME=/work', 'A=1']);
  });

  test('injects each declared secret from the host after the document env', () => {
    const doc = cell((d) => {
      d.spec.authority.secretRefs = ['DB_PASSWORD', 'API_TOKEN'];
      d.spec.run.env = { LANG: 'C' };
    });
    const env = configOf(doc, { secretEnv: { DB_PASSWORD: 'pw', API_TOKEN: 'tok' } }).process.env;
    expect(env).toEqual([`PATH=${DEFAULT_PATH}`, 'HOME=/', 'LANG=C', 'DB_PASSWORD=pw', 'API_TOKEN=tok']);
  });

  test('injects only the secrets the document declares, whatever else the host holds', () => {
    const doc = cell((d) => (d.spec.authority.secretRefs = ['DB_PASSWORD']));
    const env = configOf(doc, { secretEnv: { DB_PASSWORD: 'pw', OTHER_SECRET: 'nope' } }).process.env;
    expect(env).toContain('DB_PASSWORD=pw');
    expect(env.join('\n')).not.toContain('OTHER_SECRET');
  });

  test('gives a declared secret precedence over a document env variable of the same name', () => {
    const doc = cell((d) => {
      d.spec.authority.secretRefs = ['TOKEN'];
      d.spec.run.env = { TOKEN: 'from-document' };
    });
    const env = configOf(doc, { secretEnv: { TOKEN: 'from-host' } }).process.env;
    expect(env.filter((e) => e.startsWith('TOKEN='))).toEqual(['TOKEN=from-host']);
  });

  test('uses the working directory, or / when the document has none', () => {
    expect(configOf(cell()).process.cwd).toBe('/');
    expect(configOf(cell((d) => (d.spec.run.workingDirectory = '/work'))).process.cwd).toBe('/work');
  });

  test('runs as nobody by default and as the document user when given', () => {
    expect(configOf(cell()).process.user).toEqual({ uid: 65534, gid: 65534, additionalGids: [] });
    const doc = cell((d) => (d.spec.run.user = { uid: 1000, gid: 100, additionalGids: [27] }));
    expect(configOf(doc).process.user).toEqual({ uid: 1000, gid: 100, additionalGids: [27] });
  });

  test('never allocates a terminal', () => {
    expect(configOf(cell()).process.terminal).toBe(false);
  });

  test('sets noNewPrivileges and leaves every capability set empty, even for root where the host allows it', () => {
    const { process } = configOf(
      cell((d) => (d.spec.run.user = { uid: 0, gid: 0 })),
      { allowRootUser: true },
    );
    expect(process.noNewPrivileges).toBe(true);
    expect(process.capabilities).toEqual({ bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] });
  });

  test('sets RLIMIT_NOFILE and RLIMIT_NPROC, soft equal to hard, and no RLIMIT_FSIZE by default', () => {
    expect(configOf(cell()).process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
      { type: 'RLIMIT_NPROC', hard: 512, soft: 512 },
    ]);
  });

  test('adds RLIMIT_FSIZE when the document caps file size', () => {
    const doc = cell((d) => (d.spec.run.rlimits = { openFiles: 64, processes: 8, fileSizeBytes: 10 * MiB }));
    expect(configOf(doc).process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 64, soft: 64 },
      { type: 'RLIMIT_NPROC', hard: 8, soft: 8 },
      { type: 'RLIMIT_FSIZE', hard: 10 * MiB, soft: 10 * MiB },
    ]);
  });

  test('mounts the host rootfs path read-only as root', () => {
    expect(configOf(cell()).root).toEqual({ path: '/var/lib/cellos/rootfs/busybox', readonly: true });
  });

  test('names the host after the cell id', () => {
    expect(configOf(cell()).hostname).toBe('t-timeout');
    expect(configOf(cell((d) => (d.spec.id = ' padded-id '))).hostname).toBe('padded-id');
  });

  test('mounts /proc, /dev, /dev/pts, /dev/shm, /sys and a 64 MiB /tmp tmpfs, in that order', () => {
    expect(DEFAULT_TMP_BYTES).toBe(64 * MiB);
    expect(configOf(cell()).mounts).toEqual([
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', `size=${64 * MiB}`],
      },
    ]);
  });

  test('sizes /tmp from a document tmpfs at /tmp instead of mounting it twice', () => {
    const mounts = configOf(cell((d) => (d.spec.run.tmpfs = [{ path: '/tmp', sizeBytes: 8 * MiB }]))).mounts;
    const tmp = mounts.filter((m) => m.destination === '/tmp');
    expect(tmp).toEqual([
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', `size=${8 * MiB}`],
      },
    ]);
  });

  test('adds the document tmpfs mounts with their sizes, then read-only binds, after the base mounts', () => {
    const doc = cell((d) => {
      d.spec.run.mounts = [{ source: '/srv/datasets/iris', destination: '/data' }];
      d.spec.run.tmpfs = [{ path: '/scratch', sizeBytes: 1 * MiB }, { path: '/cache' }];
    });
    const mounts = configOf(doc, { allowedMounts: ['/srv/datasets'] }).mounts;
    expect(mounts.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/sys',
      '/tmp',
      '/scratch',
      '/cache',
      '/data',
    ]);
    expect(mounts.slice(6)).toEqual([
      {
        destination: '/scratch',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', `size=${MiB}`],
      },
      {
        destination: '/cache',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', `size=${64 * MiB}`],
      },
      { destination: '/data', type: 'bind', source: '/srv/datasets/iris', options: ['rbind', 'ro', 'nosuid', 'nodev'] },
    ]);
  });

  test('isolates pid, network, ipc, uts and mount namespaces', () => {
    expect(configOf(cell()).linux.namespaces).toEqual([
      { type: 'pid' },
      { type: 'network' },
      { type: 'ipc' },
      { type: 'uts' },
      { type: 'mount' },
    ]);
  });

  test('sets the sandbox memory limit to the cell limit plus the headroom that leaves OOM to the parent cgroup', () => {
    expect(SANDBOX_MEMORY_HEADROOM).toBe(8 * MiB);
    const doc = cell((d) => (d.spec.run.limits = { memoryMaxBytes: 256 * MiB }));
    expect(configOf(doc).linux.resources.memory).toEqual({ limit: 256 * MiB + SANDBOX_MEMORY_HEADROOM });
  });

  test("gives a cell that names no memory limit the host's default, and no CPU limit", () => {
    const { resources } = configOf(cell()).linux;
    expect(resources.memory).toEqual({ limit: DEFAULT_MEMORY_POLICY.defaultBytes + SANDBOX_MEMORY_HEADROOM });
    expect(resources).not.toHaveProperty('cpu');
    const small = configOf(cell(), { memory: { defaultBytes: 64 * MiB, maxBytes: 128 * MiB } }).linux.resources;
    expect(small.memory).toEqual({ limit: 64 * MiB + SANDBOX_MEMORY_HEADROOM });
  });

  test('passes the CPU quota and period through', () => {
    const doc = cell((d) => (d.spec.run.limits = { cpuMax: { quotaMicros: 50000, periodMicros: 200000 } }));
    expect(configOf(doc).linux.resources.cpu).toEqual({ quota: 50000, period: 200000 });
    const defaulted = cell((d) => (d.spec.run.limits = { cpuMax: { quotaMicros: 25000 } }));
    expect(configOf(defaulted).linux.resources.cpu).toEqual({ quota: 25000, period: 100000 });
  });

  test('sets a pids backstop well above runsc own threads and denies all devices', () => {
    const { resources } = configOf(cell((d) => (d.spec.run.rlimits = { processes: 8 }))).linux;
    expect(resources.pids).toEqual({ limit: 64 + 8 * 16 });
    expect(resources.devices).toEqual([{ allow: false, access: 'rwm' }]);
  });

  test('masks and freezes the kernel interfaces runc hides', () => {
    const { linux } = configOf(cell());
    expect(linux.maskedPaths).toEqual([...MASKED_PATHS]);
    expect(linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware']));
    expect(linux.readonlyPaths).toEqual([...READONLY_PATHS]);
    expect(linux.readonlyPaths).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger']));
  });

  test('places the sandbox in the cgroup path the host chose', () => {
    expect(configOf(cell()).linux.cgroupsPath).toBe('/cellos/t-timeout/sandbox');
  });

  test('annotates the cell id, the sandbox id and, when present, the correlation id', () => {
    expect(configOf(cell()).annotations).toEqual({
      'io.cellos.cell-id': 't-timeout',
      'io.cellos.sandbox-id': HOST.sandboxId,
    });
    const doc = cell(() => {}, FULL_DOCUMENT);
    expect(configOf(doc, { secretEnv: { DB_PASSWORD: 'pw' } }).annotations).toEqual({
      'io.cellos.cell-id': 'demo-cell-001',
      'io.cellos.sandbox-id': HOST.sandboxId,
      'io.cellos.correlation-id': 'req-7f3a9c',
    });
  });

  test('maps every field of the full CellOS example', () => {
    const config = configOf(
      cell(() => {}, FULL_DOCUMENT),
      { secretEnv: { DB_PASSWORD: 'pw' } },
    );
    expect(config.process.cwd).toBe('/work');
    expect(config.process.env).toEqual([`PATH=${DEFAULT_PATH}`, 'HOME=/', 'DB_PASSWORD=pw']);
    expect(config.linux.resources.memory).toEqual({ limit: 268435456 + SANDBOX_MEMORY_HEADROOM });
    expect(config.linux.resources.cpu).toEqual({ quota: 50000, period: 100000 });
    expect(config.hostname).toBe('demo-cell-001');
  });
});

describe('determinism', () => {
  const rich = (d: LooseDocument) => {
    d.spec.authority.secretRefs = ['B_SECRET', 'A_SECRET'];
    d.spec.run.env = { ZED: '1', ALPHA: '2', MIDDLE: '3' };
    d.spec.run.limits = {
      gracefulShutdownSeconds: 3,
      cpuMax: { periodMicros: 100000, quotaMicros: 1000 },
      memoryMaxBytes: 64 * MiB,
    };
    d.spec.run.user = { additionalGids: [5], gid: 2, uid: 1 };
    d.spec.run.tmpfs = [{ sizeBytes: 4096, path: '/scratch' }];
    d.spec.run.mounts = [{ readOnly: true, destination: '/data', source: '/srv/data' }];
    d.spec.correlation = { correlationId: 'c-1' };
  };
  const host: BundleHostOptions = {
    ...HOST,
    secretEnv: { A_SECRET: 'a', B_SECRET: 'b' },
    allowedMounts: ['/srv'],
  };

  test('gives byte-identical JSON for the same document twice', () => {
    const a = serializeBundleConfig(generateBundleConfig(cell(rich), host));
    const b = serializeBundleConfig(generateBundleConfig(cell(rich), host));
    expect(a).toBe(b);
  });

  test('gives byte-identical JSON whatever the key order of the input document and host options', () => {
    const forward = documentJson(REAL_DOCUMENT);
    rich(forward);
    const reversed = reverseKeys(structuredClone(forward));
    expect(Object.keys(reversed as object)).not.toEqual(Object.keys(forward));
    const reversedHost = reverseKeys(host) as BundleHostOptions;
    expect(Object.keys(reversedHost.secretEnv!)).toEqual(['B_SECRET', 'A_SECRET']);
    const a = serializeBundleConfig(generateBundleConfig(parseCellDocument(forward), host));
    const b = serializeBundleConfig(generateBundleConfig(parseCellDocument(reversed), reversedHost));
    expect(b).toBe(a);
  });

  test('serializes as two-space-indented JSON ending in a newline', () => {
    const config = configOf(cell());
    const text = serializeBundleConfig(config);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.startsWith('{\n  "ociVersion": "1.0.2",\n  "process": {\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(config);
  });

  test('leaves the document untouched', () => {
    const doc = deepFreeze(cell(rich));
    const before = JSON.stringify(doc);
    expect(() => generateBundleConfig(doc, host)).not.toThrow();
    expect(JSON.stringify(doc)).toBe(before);
  });
});

describe('OCI runtime-spec validity', () => {
  const host: BundleHostOptions = {
    ...HOST,
    secretEnv: { DB_PASSWORD: 'pw' },
    allowedMounts: ['/srv'],
    allowSandboxNetwork: true,
  };

  test.each(ALL_DOCUMENTS)('the config of example %s validates against the OCI 1.0.2 schema', (name) => {
    const config = generateBundleConfig(
      cell(() => {}, name),
      host,
    );
    expect(validateOciConfig(config)).toEqual([]);
  });

  test('a config with every extension at once validates against the OCI 1.0.2 schema', () => {
    const doc = cell((d) => {
      d.spec.authority.secretRefs = ['DB_PASSWORD'];
      d.spec.run = {
        ...d.spec.run,
        workingDirectory: '/work',
        env: { LANG: 'C.UTF-8' },
        user: { uid: 0, gid: 0, additionalGids: [1, 2] },
        rlimits: { openFiles: 16, processes: 1, fileSizeBytes: 2 ** 50 },
        limits: { memoryMaxBytes: 2 ** 40, cpuMax: { quotaMicros: 1_000_000_000, periodMicros: 1_000_000 } },
        tmpfs: [{ path: '/tmp', sizeBytes: 4096 }, { path: '/scratch' }],
        mounts: [{ source: '/srv/a', destination: '/a' }],
        network: 'sandbox',
        output: { maxStdoutBytes: 0, maxStderrBytes: 0 },
      };
    });
    const permissive: BundleHostOptions = {
      ...host,
      allowRootUser: true,
      memory: { defaultBytes: 64 * MiB, maxBytes: 2 ** 40 },
      mountSources: ['/srv/resolved/a'],
      prestartHooks: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 0', 'hook'], env: ['PATH=/bin'], timeout: 5 }],
    };
    const config = generateBundleConfig(doc, permissive);
    expect(config.hooks?.prestart).toHaveLength(1);
    expect(validateOciConfig(config)).toEqual([]);
  });

  test('a tmpfs holding an exported artifact becomes its host scratch folder, bound read-write', () => {
    const doc = cell((d) => {
      d.spec.run = { ...d.spec.run, tmpfs: [{ path: '/scratch', sizeBytes: 8 * MiB }] };
      d.spec.export = {
        artifacts: [
          { name: 'r', path: '/scratch/r' },
          { name: 't', path: '/tmp/t' },
        ],
      };
    });
    const config = generateBundleConfig(doc, {
      ...host,
      scratchSources: { '0': '/var/lib/cellos/cells/x/scratch/0', tmp: '/var/lib/cellos/cells/x/scratch/tmp' },
    });
    const at = (destination: string) => config.mounts.find((m) => m.destination === destination);
    expect(at('/scratch')).toEqual({
      destination: '/scratch',
      type: 'bind',
      source: '/var/lib/cellos/cells/x/scratch/0',
      options: ['rbind', 'rw', 'nosuid', 'nodev'],
    });
    expect(at('/tmp')).toMatchObject({ type: 'bind', source: '/var/lib/cellos/cells/x/scratch/tmp' });
    // Without scratch folders: the same document's tmpfs stay in the sandbox's memory.
    expect(generateBundleConfig(doc, host).mounts.find((m) => m.destination === '/scratch')?.type).toBe('tmpfs');
    expect(validateOciConfig(config)).toEqual([]);
  });

  test('the schema check itself catches a broken config', () => {
    const config = generateBundleConfig(cell(), host) as unknown as LooseDocument;
    config.process.rlimits[0].type = 'nofile';
    delete config.ociVersion;
    const problems = validateOciConfig(config);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\(root\): must have required property 'ociVersion'/),
        expect.stringMatching(/^\/process\/rlimits\/0\/type: must match pattern/),
      ]),
    );
  });
});

describe('refusals', () => {
  test('refuses a document whose id is blank with MissingCellId', () => {
    const doc = cell();
    const blank = { ...doc, spec: { ...doc.spec, id: '  ' } } as CellDocument;
    expectBundleError(() => configOf(blank), 'MissingCellId', /spec\.id is empty/);
  });

  test('refuses a document with an empty argv with MissingArgv', () => {
    const doc = cell();
    const empty = { ...doc, spec: { ...doc.spec, run: { ...doc.spec.run, argv: [] } } } as unknown as CellDocument;
    expectBundleError(() => configOf(empty), 'MissingArgv', /^cell t-timeout: spec\.run\.argv is empty/);
  });

  test('refuses a document without run with MissingArgv', () => {
    const doc = cell();
    const noRun = { ...doc, spec: { ...doc.spec, run: undefined } } as unknown as CellDocument;
    expectBundleError(() => configOf(noRun), 'MissingArgv');
  });

  test('refuses every host mount when the host allows none', () => {
    const doc = cell((d) => (d.spec.run.mounts = [{ source: '/srv/data', destination: '/data' }]));
    expectBundleError(
      () => configOf(doc),
      'MountNotAllowed',
      /spec\.run\.mounts\[0\]\.source \/srv\/data .*allowed: none/,
    );
  });

  test('refuses a mount source outside the allowed host paths', () => {
    const doc = cell((d) => (d.spec.run.mounts = [{ source: '/etc', destination: '/hostetc' }]));
    expectBundleError(() => configOf(doc, { allowedMounts: ['/data'] }), 'MountNotAllowed', /allowed: \/data\)$/);
  });

  test('refuses a mount source that only shares a prefix with an allowed path (/data2 vs /data)', () => {
    const doc = cell((d) => (d.spec.run.mounts = [{ source: '/data2/x', destination: '/x' }]));
    expectBundleError(() => configOf(doc, { allowedMounts: ['/data'] }), 'MountNotAllowed');
    const exact = cell((d) => (d.spec.run.mounts = [{ source: '/data2', destination: '/x' }]));
    expectBundleError(() => configOf(exact, { allowedMounts: ['/data'] }), 'MountNotAllowed');
  });

  test('names the index of the first refused mount', () => {
    const doc = cell(
      (d) =>
        (d.spec.run.mounts = [
          { source: '/data/ok', destination: '/a' },
          { source: '/home/user', destination: '/b' },
        ]),
    );
    expectBundleError(
      () => configOf(doc, { allowedMounts: ['/data'] }),
      'MountNotAllowed',
      /spec\.run\.mounts\[1\]\.source/,
    );
  });

  test('allows mounts at or below an allowed path, with or without a trailing slash', () => {
    const doc = cell(
      (d) =>
        (d.spec.run.mounts = [
          { source: '/data', destination: '/a' },
          { source: '/data/sets/iris', destination: '/b' },
        ]),
    );
    expect(configOf(doc, { allowedMounts: ['/data'] }).mounts.filter((m) => m.type === 'bind')).toHaveLength(2);
    expect(configOf(doc, { allowedMounts: ['/data/'] }).mounts.filter((m) => m.type === 'bind')).toHaveLength(2);
  });

  test('refuses sandbox networking unless the host enables it', () => {
    const doc = cell((d) => (d.spec.run.network = 'sandbox'));
    expectBundleError(() => configOf(doc), 'NetworkNotAllowed', /spec\.run\.network "sandbox" is not allowed/);
    expectBundleError(() => configOf(doc, { allowSandboxNetwork: false }), 'NetworkNotAllowed');
    expect(configOf(doc, { allowSandboxNetwork: true }).linux.namespaces).toContainEqual({ type: 'network' });
  });

  test('refuses a declared secret that the host has no value for, naming it', () => {
    const doc = cell((d) => (d.spec.authority.secretRefs = ['DB_PASSWORD']));
    expectBundleError(() => configOf(doc), 'MissingSecret', /^secret DB_PASSWORD \(spec\.authority\.secretRefs\[0\]\)/);
    expectBundleError(() => configOf(doc, { secretEnv: { OTHER: 'x' } }), 'MissingSecret');
  });

  test('refuses a secret named like an Object method instead of injecting the method', () => {
    const doc = cell((d) => (d.spec.authority.secretRefs = ['toString', 'constructor']));
    expectBundleError(() => configOf(doc, { secretEnv: {} }), 'MissingSecret', /^secret toString /);
  });

  test('never puts a secret value into an error message', () => {
    const doc = cell((d) => {
      d.spec.authority.secretRefs = ['A', 'B'];
    });
    const err = bundleErrorOf(() => configOf(doc, { secretEnv: { A: 'hunter2' } }));
    expect(err.message).not.toContain('hunter2');
  });
});

describe("root only with the operator's consent", () => {
  test.each([
    [{ uid: 0 }, 'spec.run.user.uid'],
    [{ uid: 1000, gid: 0 }, 'spec.run.user.gid'],
    [{ uid: 1000, gid: 1000, additionalGids: [27, 0] }, 'spec.run.user.additionalGids[1]'],
    [{ uid: 0, gid: 0, additionalGids: [0] }, 'spec.run.user.uid'],
  ])('refuses user %j, naming %s, unless the host allows root', (user, field) => {
    const doc = cell((d) => (d.spec.run.user = user));
    const err = bundleErrorOf(() => configOf(doc));
    expect(err.code).toBe('RootUserNotAllowed');
    expect(err.failureType).toBe('CellRejectedByHost');
    expect(err.message).toContain(`${field} is 0 (root)`);
    expect(err.message).toContain('CELLOS_ALLOW_ROOT_USER');
    expectBundleError(() => configOf(doc, { allowRootUser: false }), 'RootUserNotAllowed');
    expect(configOf(doc, { allowRootUser: true }).process.user.uid).toBe(user.uid);
  });

  test('runs any other user without consent', () => {
    const doc = cell((d) => (d.spec.run.user = { uid: 1, gid: 1, additionalGids: [1, 65534] }));
    expect(configOf(doc).process.user).toEqual({ uid: 1, gid: 1, additionalGids: [1, 65534] });
  });
});

describe('memory: every cell has a limit, none over the host maximum', () => {
  const policy = { defaultBytes: 64 * MiB, maxBytes: 256 * MiB };

  test("cellMemoryBytes is the document's limit, else the host's default", () => {
    expect(cellMemoryBytes(cell(), policy)).toBe(64 * MiB);
    expect(cellMemoryBytes(cell(), undefined)).toBe(DEFAULT_MEMORY_POLICY.defaultBytes);
    const asked = cell((d) => (d.spec.run.limits = { memoryMaxBytes: 100 * MiB }));
    expect(cellMemoryBytes(asked, policy)).toBe(100 * MiB);
    const atMax = cell((d) => (d.spec.run.limits = { memoryMaxBytes: 256 * MiB }));
    expect(cellMemoryBytes(atMax, policy)).toBe(256 * MiB);
  });

  test('refuses a document over the host maximum, naming the field and the maximum', () => {
    const doc = cell((d) => (d.spec.run.limits = { memoryMaxBytes: 256 * MiB + 1 }));
    expectBundleError(
      () => configOf(doc, { memory: policy }),
      'MemoryNotAllowed',
      new RegExp(`spec\\.run\\.limits\\.memoryMaxBytes ${256 * MiB + 1} is over this host's maximum of ${256 * MiB}`),
    );
    expectBundleError(() => cellMemoryBytes(doc, policy), 'MemoryNotAllowed');
    const huge = cell((d) => (d.spec.run.limits = { memoryMaxBytes: DEFAULT_MEMORY_POLICY.maxBytes + 1 }));
    expectBundleError(() => configOf(huge), 'MemoryNotAllowed');
  });

  test('caps the default /tmp, /dev and /dev/shm at the cell memory', () => {
    const mounts = configOf(cell(), { memory: { defaultBytes: 32 * MiB, maxBytes: 32 * MiB } }).mounts;
    const sizeOf = (dest: string) =>
      mounts.find((m) => m.destination === dest)!.options!.find((o) => o.startsWith('size='));
    expect(sizeOf('/tmp')).toBe(`size=${32 * MiB}`);
    expect(sizeOf('/dev')).toBe('size=32768k');
    expect(sizeOf('/dev/shm')).toBe('size=32768k');
    // With more memory they stay at 64 MiB.
    const big = configOf(cell()).mounts;
    expect(big.find((m) => m.destination === '/tmp')!.options).toContain(`size=${DEFAULT_TMP_BYTES}`);
    expect(big.find((m) => m.destination === '/dev/shm')!.options).toContain('size=65536k');
  });

  test('refuses tmpfs sizes that add up to more than the cell memory, naming the entry that tips it', () => {
    const doc = cell((d) => {
      d.spec.run.limits = { memoryMaxBytes: 16 * MiB };
      d.spec.run.tmpfs = [
        { path: '/tmp', sizeBytes: 8 * MiB },
        { path: '/scratch', sizeBytes: 8 * MiB },
        { path: '/cache', sizeBytes: 4096 },
      ];
    });
    expectBundleError(
      () => configOf(doc),
      'TmpfsTooLarge',
      new RegExp(
        `spec\\.run\\.tmpfs\\[2\\]\\.sizeBytes: the tmpfs sizes add up to ${16 * MiB + 4096} bytes, more than the cell's memory of ${16 * MiB}`,
      ),
    );
    // Exactly the memory is fine.
    const exact = cell((d) => {
      d.spec.run.limits = { memoryMaxBytes: 16 * MiB };
      d.spec.run.tmpfs = [
        { path: '/tmp', sizeBytes: 8 * MiB },
        { path: '/scratch', sizeBytes: 8 * MiB },
      ];
    });
    expect(configOf(exact).mounts.filter((m) => m.type === 'tmpfs')).toHaveLength(4);
  });

  test("counts a tmpfs without a size at its 64 MiB default against the host's default memory", () => {
    const doc = cell((d) => (d.spec.run.tmpfs = [{ path: '/scratch' }, { path: '/cache' }]));
    expectBundleError(
      () => configOf(doc, { memory: { defaultBytes: 100 * MiB, maxBytes: 100 * MiB } }),
      'TmpfsTooLarge',
      /spec\.run\.tmpfs\[1\]\.sizeBytes/,
    );
    // 128 MiB of declared tmpfs and the default /tmp's 4 KiB floor: one more MiB of memory holds them.
    expect(() => configOf(doc, { memory: { defaultBytes: 128 * MiB, maxBytes: 128 * MiB } })).toThrow(/default \/tmp/);
    expect(() => configOf(doc, { memory: { defaultBytes: 129 * MiB, maxBytes: 129 * MiB } })).not.toThrow();
  });

  test('sizes the default /tmp to what the memory leaves beside the tmpfs a document declares', () => {
    const doc = cell((d) => {
      d.spec.run.limits = { ...d.spec.run.limits, memoryMaxBytes: 16 * MiB };
      d.spec.run.tmpfs = [{ path: '/work', sizeBytes: 4096 }];
    });
    const mounts = configOf(doc).mounts ?? [];
    const size = (dest: string) =>
      mounts.find((m) => m.destination === dest)?.options?.find((o) => o.startsWith('size='));
    expect(size('/tmp')).toBe(`size=${16 * MiB - 4096}`);
    expect(size('/work')).toBe('size=4096');
  });
});

describe('secrets: only for the cells the operator grants them to', () => {
  const secretEnv = { DB_PASSWORD: 'hunter2-value', API_TOKEN: 'tok-value' };
  const withSecrets = (id: string, refs: string[]) =>
    cell((d) => {
      d.spec.id = id;
      d.spec.authority.secretRefs = refs;
    });

  test('refuses a secret with no grant, naming the secret and the setting, never the value', () => {
    const doc = withSecrets('team-a-job', ['DB_PASSWORD']);
    const err = bundleErrorOf(() => configOf(doc, { secretEnv, secretGrants: {} }));
    expect(err.code).toBe('SecretNotGranted');
    expect(err.failureType).toBe('CellRejectedByHost');
    expect(err.message).toBe(
      'cell team-a-job: secret DB_PASSWORD (spec.authority.secretRefs[0]) is not granted to this cell on this host (its operator grants it with CELLOS_GRANT_DB_PASSWORD)',
    );
    expect(err.message).not.toContain('hunter2');
  });

  test('grants by cell id pattern, per secret', () => {
    const grants = { DB_PASSWORD: ['team-a-*', 'exact-one'], API_TOKEN: ['*'] };
    const ok = (id: string, refs: string[]) => configOf(withSecrets(id, refs), { secretEnv, secretGrants: grants });
    expect(ok('team-a-job', ['DB_PASSWORD', 'API_TOKEN']).process.env).toEqual(
      expect.arrayContaining(['DB_PASSWORD=hunter2-value', 'API_TOKEN=tok-value']),
    );
    expect(ok('exact-one', ['DB_PASSWORD']).process.env).toContain('DB_PASSWORD=hunter2-value');
    expect(ok('team-b-job', ['API_TOKEN']).process.env).toContain('API_TOKEN=tok-value');
    for (const id of ['team-b-job', 'exact-one-2', 'xteam-a-job', 'team-a']) {
      expectBundleError(
        () => ok(id, ['API_TOKEN', 'DB_PASSWORD']),
        'SecretNotGranted',
        /secret DB_PASSWORD \(spec\.authority\.secretRefs\[1\]\)/,
      );
    }
  });

  test('refuses an ungranted secret before saying whether the host holds it', () => {
    const doc = withSecrets('c1', ['NOT_HELD']);
    expectBundleError(() => configOf(doc, { secretEnv, secretGrants: {} }), 'SecretNotGranted');
    expectBundleError(() => configOf(doc, { secretEnv, secretGrants: { NOT_HELD: ['*'] } }), 'MissingSecret');
  });

  test('does not take a grant from Object.prototype', () => {
    const doc = withSecrets('c1', ['toString', 'constructor']);
    expectBundleError(() => configOf(doc, { secretEnv: {}, secretGrants: {} }), 'SecretNotGranted', /secret toString/);
  });

  test('matchesCellPattern: * is any run of characters, everything else is itself', () => {
    expect(matchesCellPattern('a.b', 'a.b')).toBe(true);
    expect(matchesCellPattern('axb', 'a.b')).toBe(false);
    expect(matchesCellPattern('team-a-1', 'team-*-1')).toBe(true);
    expect(matchesCellPattern('team-a-12', 'team-*-1')).toBe(false);
    expect(matchesCellPattern('anything', '*')).toBe(true);
    expect(matchesCellPattern('a+b', 'a+b')).toBe(true);
    expect(matchesCellPattern('aab', 'a+b')).toBe(false);
    expect(matchesCellPattern('x', '')).toBe(false);
  });
});

describe('host mounts as the host resolved them', () => {
  const mountDoc = () => cell((d) => (d.spec.run.mounts = [{ source: '/srv/data/link', destination: '/data' }]));

  test("names the host's resolved source in the bundle, never the document's path", () => {
    const config = configOf(mountDoc(), { allowedMounts: ['/srv/data'], mountSources: ['/srv/data/real'] });
    expect(config.mounts.find((m) => m.destination === '/data')!.source).toBe('/srv/data/real');
  });

  test('refuses a resolved source outside the allowlist', () => {
    expectBundleError(
      () => configOf(mountDoc(), { allowedMounts: ['/srv/data'], mountSources: ['/etc'] }),
      'MountNotAllowed',
      /spec\.run\.mounts\[0\]\.source \/srv\/data\/link is not under a host path/,
    );
  });

  test('wants one resolved source per mount', () => {
    expect(() => configOf(mountDoc(), { allowedMounts: ['/srv/data'], mountSources: [] })).toThrow(TypeError);
  });

  test('adds the prestart hooks the host gives, as copies, and none by default', () => {
    const hook: OciHook = { path: '/bin/sh', args: ['sh', '-c', 'true'], env: ['PATH=/bin'], timeout: 3 };
    const config = configOf(cell(), { prestartHooks: [hook] });
    expect(config.hooks).toEqual({ prestart: [hook] });
    expect(config.hooks!.prestart![0]).not.toBe(hook);
    expect(configOf(cell())).not.toHaveProperty('hooks');
    expect(configOf(cell(), { prestartHooks: [] })).not.toHaveProperty('hooks');
  });
});

describe('checkHostPolicy', () => {
  test('refuses what generateBundleConfig refuses, and gives the memory it would', () => {
    expect(checkHostPolicy(cell(), {})).toEqual({ memoryBytes: DEFAULT_MEMORY_POLICY.defaultBytes });
    const root = cell((d) => (d.spec.run.user = { uid: 0 }));
    expectBundleError(() => checkHostPolicy(root, {}), 'RootUserNotAllowed');
    const secret = cell((d) => (d.spec.authority.secretRefs = ['S']));
    expectBundleError(() => checkHostPolicy(secret, { secretEnv: { S: 'v' }, secretGrants: {} }), 'SecretNotGranted');
  });
});

describe('isAllowedHostPath', () => {
  test.each([
    ['/data', ['/data'], true],
    ['/data/x/y', ['/data'], true],
    ['/data/x', ['/data/'], true],
    ['/data2', ['/data'], false],
    ['/dat', ['/data'], false],
    ['/anything', ['/'], true],
    ['/data', [], false],
    ['/etc', ['/srv', '/data'], false],
    ['/srv/a', ['/data', '/srv'], true],
    ['/etc/passwd', [''], false],
    ['/etc/passwd', ['data'], false],
  ] as const)('host path %s under allowlist %j is allowed: %s', (path, allowed, expected) => {
    expect(isAllowedHostPath(path, allowed)).toBe(expected);
  });
});
