// Properties over generated documents, valid and not: whatever the schema accepts can be run.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  BundleConfigError,
  SANDBOX_MEMORY_HEADROOM,
  generateBundleConfig,
  isAllowedHostPath,
  sandboxIdFor,
  type BundleConfigErrorCode,
  type BundleHostOptions,
  type OciConfig,
} from '../../src/bundle/index.ts';
import {
  CellDocumentError,
  ENV_NAME_PATTERN,
  parseCellDocument,
  type CellDocument,
  type DocumentProblem,
} from '../../src/document/index.ts';
import { LIMITS } from '../../src/document/limits.ts';
import { validateOciConfig } from '../helpers/oci-schema.ts';

/** runsc's container id rule: [A-Za-z0-9_.+-], at most 92 characters, no leading `-` (read as a flag). */
const RUNSC_ID = /^[A-Za-z0-9_.+][A-Za-z0-9_.+-]{0,91}$/;

// Documents are generated valid over wide ranges, and some then get one field broken (or odd but
// valid: surrounding whitespace, unknown CellOS fields), so that both sides of the schema are hit.
const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);
const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
const absPath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`);
const cellId = fc
  .tuple(
    fc.constantFrom('', ' ', '\t'),
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/),
    fc.constantFrom('', ' ', '\n'),
  )
  .map(([a, id, b]) => `${a}${id}${b}`);
const arg = fc.oneof(
  { weight: 9, arbitrary: fc.string({ maxLength: 24, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 2400 }) },
);

const run = fc.record(
  {
    argv: fc
      .tuple(fc.string({ minLength: 1, maxLength: 16 }), fc.array(arg, { maxLength: 4 }))
      .map(([p, a]) => [p, ...a]),
    workingDirectory: fc.oneof(fc.constant('/'), absPath),
    secretDelivery: fc.constant('env'),
    limits: fc.record(
      {
        memoryMaxBytes: fc.integer({ min: 16 * 2 ** 20, max: 2 ** 40 }),
        cpuMax: fc.record(
          {
            quotaMicros: fc.integer({ min: 1000, max: 1_000_000_000 }),
            periodMicros: fc.integer({ min: 1000, max: 1_000_000 }),
          },
          { requiredKeys: ['quotaMicros'] },
        ),
        gracefulShutdownSeconds: fc.integer({ min: 1, max: 3600 }),
      },
      { requiredKeys: [] },
    ),
    env: fc.dictionary(envName, fc.string({ maxLength: 16 }), { maxKeys: 4 }),
    user: fc.record(
      {
        uid: fc.integer({ min: 0, max: 2 ** 31 - 2 }),
        gid: fc.integer({ min: 0, max: 2 ** 31 - 2 }),
        additionalGids: fc.array(fc.integer({ min: 0, max: 2 ** 31 - 2 }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    rlimits: fc.record(
      {
        openFiles: fc.integer({ min: 16, max: 1_048_576 }),
        processes: fc.integer({ min: 1, max: 65_536 }),
        fileSizeBytes: fc.integer({ min: 1, max: 2 ** 50 }),
      },
      { requiredKeys: [] },
    ),
    rootfs: fc.oneof(fc.record({ path: absPath }), fc.record({ image: absPath })),
    tmpfs: fc.uniqueArray(
      fc.record({ path: absPath, sizeBytes: fc.integer({ min: 4096, max: 2 ** 36 }) }, { requiredKeys: ['path'] }),
      { maxLength: 3, selector: (t) => t.path },
    ),
    mounts: fc.uniqueArray(
      fc.record(
        { source: absPath, destination: absPath, readOnly: fc.constant(true as const) },
        {
          requiredKeys: ['source', 'destination'],
        },
      ),
      { maxLength: 3, selector: (m) => m.destination },
    ),
    network: fc.constantFrom('none', 'sandbox'),
    output: fc.record(
      { maxStdoutBytes: fc.integer({ min: 0, max: 2 ** 26 }), maxStderrBytes: fc.integer({ min: 0, max: 2 ** 26 }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['argv'] },
);

const validDocument = fc.record({
  apiVersion: fc.constant('cellos.io/v1'),
  kind: fc.constant('ExecutionCell'),
  spec: fc.record(
    {
      id: cellId,
      authority: fc.record({ secretRefs: fc.uniqueArray(envName, { maxLength: 3 }) }, { requiredKeys: [] }),
      lifetime: fc.record({ ttlSeconds: fc.integer({ min: 1, max: 7 * 24 * 3600 }) }),
      run,
      correlation: fc.record({ correlationId: fc.string({ maxLength: 256 }) }, { requiredKeys: [] }),
      telemetry: fc.jsonValue({ maxDepth: 2 }),
      placement: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['id', 'authority', 'lifetime', 'run'] },
  ),
});

/** Where a broken value goes, and a few broken values for it. */
const BREAKS: readonly [path: readonly string[], values: readonly unknown[]][] = [
  [['apiVersion'], ['cellos.io/v2', undefined, 1]],
  [['kind'], ['Pod', undefined]],
  [
    ['spec', 'id'],
    ['', '  ', '-x', 'a/b', 'a+b', 'a b', 'x'.repeat(64), 7, undefined],
  ],
  [
    ['spec', 'lifetime', 'ttlSeconds'],
    [0, -1, 1.5, 604801, '60', undefined],
  ],
  [
    ['spec', 'authority', 'egress'],
    [[], {}],
  ],
  [
    ['spec', 'authority', 'secretRefs'],
    [['a-b'], 'X', [1]],
  ],
  [
    ['spec', 'run', 'argv'],
    [[], [''], ['/bin/sh', 1], ['a\0'], 'ls', ['x'.repeat(3000)]],
  ],
  [
    ['spec', 'run', 'workingDirectory'],
    ['work', '/a/../b', '//a', '/a\0'],
  ],
  [
    ['spec', 'run', 'secretDelivery'],
    ['file', ''],
  ],
  [
    ['spec', 'run', 'limits', 'memoryMaxBytes'],
    [0, -1, 2 ** 20, 2 ** 50, 1.5],
  ],
  [
    ['spec', 'run', 'limits', 'gracefulShutdownSeconds'],
    [0, 3601],
  ],
  [
    ['spec', 'run', 'env'],
    [{ '1A': 'x' }, { 'A-B': 'x' }, { A: 1 }, ['A=1']],
  ],
  [
    ['spec', 'run', 'user'],
    [{ uid: -1 }, { gid: 2 ** 31 }, { name: 'root' }],
  ],
  [
    ['spec', 'run', 'rlimits'],
    [{ openFiles: 0 }, { processes: 0 }, { fileSizeBytes: 0 }],
  ],
  [
    ['spec', 'run', 'rootfs'],
    [{ path: 'rel' }, { path: '/a', image: '/b' }, {}],
  ],
  [
    ['spec', 'run', 'tmpfs'],
    [[{ path: '/proc' }], [{ path: '/dev/shm' }], [{ path: '/' }], [{ path: '/t' }, { path: '/t/' }]],
  ],
  [
    ['spec', 'run', 'mounts'],
    [[{ source: '/a', destination: '/b', readOnly: false }], [{ source: 'a', destination: '/b' }]],
  ],
  [
    ['spec', 'run', 'network'],
    ['host', 'bridge', ''],
  ],
  [
    ['spec', 'run', 'output'],
    [{ maxStdoutBytes: -1 }, { maxStderrBytes: 2 ** 27 }],
  ],
  [['spec', 'run', 'workdir'], ['/typo']],
];

const broken = fc.tuple(validDocument, fc.constantFrom(...BREAKS), fc.nat()).map(([valid, [path, values], pick]) => {
  // A copy: fast-check may hand the same generated value to the mapper again while shrinking.
  const doc = structuredClone(valid) as Record<string, unknown>;
  let target = doc;
  for (const key of path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
  target[path.at(-1)!] = values[pick % values.length];
  return doc as unknown;
});

const document = fc.oneof(validDocument, broken);

function tryParse(input: unknown): CellDocument | undefined {
  try {
    return parseCellDocument(input);
  } catch (err) {
    if (err instanceof CellDocumentError) return undefined;
    throw err;
  }
}

describe('documents the schema accepts', () => {
  test('have an id that runsc can carry, and a sandbox id that follows runsc rules too', () => {
    fc.assert(
      fc.property(document, fc.string({ maxLength: 20 }), (input, runKey) => {
        const doc = tryParse(input);
        fc.pre(doc !== undefined);
        expect(doc.spec.id).toMatch(RUNSC_ID);
        expect(doc.spec.id).toBe(doc.spec.id.trim());
        expect(sandboxIdFor(doc.spec.id, runKey)).toMatch(RUNSC_ID);
      }),
      { numRuns: 200 },
    );
  });

  test('produce a bundle config that validates against the OCI runtime-spec schema', () => {
    fc.assert(
      fc.property(document, (input) => {
        const doc = tryParse(input);
        fc.pre(doc !== undefined);
        const sandboxId = sandboxIdFor(doc.spec.id, 'run-1');
        // The most a host can allow: only a document's own tmpfs sizes over its memory are refused.
        const config = refusalOf(() =>
          generateBundleConfig(doc, {
            sandboxId,
            rootfsPath: '/var/lib/cellos/rootfs/busybox',
            cgroupsPath: `/cellos/${sandboxId}/sandbox`,
            secretEnv: Object.fromEntries(doc.spec.authority.secretRefs.map((name) => [name, `value of ${name}`])),
            allowedMounts: ['/'],
            allowSandboxNetwork: true,
            allowRootUser: true,
            memory: { defaultBytes: LIMITS.memoryMaxBytes, maxBytes: LIMITS.memoryMaxBytes },
          }),
        );
        if (typeof config === 'string') {
          expect(config).toBe('TmpfsTooLarge');
          return;
        }
        expect(validateOciConfig(config)).toEqual([]);
        for (const entry of config.process.env) expect(entry.slice(0, entry.indexOf('='))).toMatch(ENV_NAME_PATTERN);
      }),
      { numRuns: 200 },
    );
  });

  test('on any host, get a bundle only within what the host grants, or the refusal its policy predicts', () => {
    let bundles = 0;
    const refusals = new Map<string, number>();
    fc.assert(
      fc.property(document, hostPolicy, (input, host) => {
        const doc = tryParse(input);
        fc.pre(doc !== undefined);
        const options = optionsFor(doc, host);
        const outcome = refusalOf(() => generateBundleConfig(doc, options));
        expect(typeof outcome === 'string' ? outcome : 'bundle').toBe(predictedRefusal(doc, options) ?? 'bundle');
        if (typeof outcome === 'string') {
          refusals.set(outcome, (refusals.get(outcome) ?? 0) + 1);
          return;
        }
        bundles += 1;
        expectWithinGrant(doc, options, outcome);
      }),
      { numRuns: 10_000 },
    );
    // Both sides were exercised, every kind of refusal among them.
    expect(bundles).toBeGreaterThan(500);
    expect([...refusals.keys()].sort()).toEqual(
      [
        'MemoryNotAllowed',
        'MountNotAllowed',
        'NetworkNotAllowed',
        'RootUserNotAllowed',
        'SecretNotGranted',
        'TmpfsTooLarge',
        'MissingSecret',
      ].sort(),
    );
    // 10,000 documents take ~40 s on a quiet 2-core machine: room for a loaded one.
  }, 180_000);
});

/** What a host allows, drawn apart from the document and applied to it by optionsFor. */
const hostPolicy = fc.record({
  allowRootUser: fc.boolean(),
  allowSandboxNetwork: fc.boolean(),
  /** none, everything, the folder of the document's first mount source, or an unrelated folder. */
  mounts: fc.constantFrom('none', 'all', 'first', 'other'),
  memory: fc
    .integer({ min: 16 * 2 ** 20, max: 2 ** 40 })
    .chain((maxBytes) =>
      fc.record({ defaultBytes: fc.integer({ min: 16 * 2 ** 20, max: maxBytes }), maxBytes: fc.constant(maxBytes) }),
    ),
  /** Per secret name: whether the host holds it, and which pattern grants it (if any). */
  holds: fc.func(fc.boolean()),
  grant: fc.func(fc.constantFrom('*', 'exact', 'prefix', 'other', 'none')),
});

type HostPolicyDraw = typeof hostPolicy extends fc.Arbitrary<infer T> ? T : never;

function optionsFor(doc: CellDocument, host: HostPolicyDraw): BundleHostOptions {
  const sandboxId = sandboxIdFor(doc.spec.id, 'run-1');
  const names = doc.spec.authority.secretRefs;
  const first = doc.spec.run.mounts[0]?.source;
  const patterns: Record<string, string[]> = {
    '*': ['*'],
    exact: [doc.spec.id],
    prefix: [`${doc.spec.id.slice(0, 1)}*`],
    other: [`${doc.spec.id}x`, `x${doc.spec.id}*`],
    none: [],
  };
  return {
    sandboxId,
    rootfsPath: '/var/lib/cellos/rootfs/busybox',
    cgroupsPath: `/cellos/${sandboxId}/sandbox`,
    secretEnv: Object.fromEntries(names.filter((n) => host.holds(n)).map((n) => [n, `value of ${n}`])),
    secretGrants: Object.fromEntries(names.map((n) => [n, patterns[host.grant(n)]!])),
    allowedMounts: {
      none: [],
      all: ['/'],
      first: first === undefined ? [] : [first.slice(0, first.lastIndexOf('/')) || first],
      other: ['/nowhere-generated'],
    }[host.mounts],
    allowSandboxNetwork: host.allowSandboxNetwork,
    allowRootUser: host.allowRootUser,
    memory: host.memory,
  };
}

/** The refusal a host with these options must make, from the rules themselves, in their order. */
function predictedRefusal(doc: CellDocument, host: BundleHostOptions): BundleConfigErrorCode | undefined {
  const run = doc.spec.run;
  if (run.network === 'sandbox' && !host.allowSandboxNetwork) return 'NetworkNotAllowed';
  const allowed = host.allowedMounts ?? [];
  const under = (p: string) => allowed.some((a) => a === '/' || p === a || p.startsWith(`${a}/`));
  if (!run.mounts.every((m) => under(m.source))) return 'MountNotAllowed';
  const { uid, gid, additionalGids } = run.user;
  if (!host.allowRootUser && (uid === 0 || gid === 0 || additionalGids.includes(0))) return 'RootUserNotAllowed';
  const memory = run.limits.memoryMaxBytes ?? host.memory!.defaultBytes;
  if (memory > host.memory!.maxBytes) return 'MemoryNotAllowed';
  if (run.tmpfs.reduce((n, t) => n + t.sizeBytes, 0) > memory) return 'TmpfsTooLarge';
  for (const name of doc.spec.authority.secretRefs) {
    const patterns = host.secretGrants![name] ?? [];
    const id = doc.spec.id;
    const granted = patterns.some((p) => (p.endsWith('*') ? id.startsWith(p.slice(0, -1)) : id === p));
    if (!granted) return 'SecretNotGranted';
    if (host.secretEnv![name] === undefined) return 'MissingSecret';
  }
  return undefined;
}

/** The invariants of a bundle: nothing beyond what the document asked and the host granted. */
function expectWithinGrant(doc: CellDocument, host: BundleHostOptions, config: OciConfig) {
  const p = config.process;
  expect(p.noNewPrivileges).toBe(true);
  expect(Object.values(p.capabilities).flat()).toEqual([]);
  expect(p.terminal).toBe(false);
  expect(config.root.readonly).toBe(true);
  expect(config.root.path).toBe(host.rootfsPath);
  const ids = [p.user.uid, p.user.gid, ...(p.user.additionalGids ?? [])];
  if (!host.allowRootUser) expect(ids).not.toContain(0);
  // Its own network namespace always; no network is made by the bundle itself.
  expect(config.linux.namespaces).toContainEqual({ type: 'network' });
  if (doc.spec.run.network === 'sandbox') expect(host.allowSandboxNetwork).toBe(true);
  // A memory limit always, within the host's maximum (plus runsc's headroom).
  const memory = config.linux.resources.memory?.limit;
  expect(memory).toBeDefined();
  expect(memory!).toBeLessThanOrEqual(host.memory!.maxBytes + SANDBOX_MEMORY_HEADROOM);
  // Every tmpfs within the cell's memory, together.
  const cellMemory = memory! - SANDBOX_MEMORY_HEADROOM;
  const docTmpfs = doc.spec.run.tmpfs.reduce((n, t) => n + t.sizeBytes, 0);
  expect(docTmpfs).toBeLessThanOrEqual(cellMemory);
  for (const m of config.mounts) {
    if (m.type === 'tmpfs') {
      const size = m.options!.find((o) => o.startsWith('size='))!.slice(5);
      const bytes = size.endsWith('k') ? Number(size.slice(0, -1)) * 1024 : Number(size);
      expect(bytes).toBeLessThanOrEqual(cellMemory);
    } else if (m.type === 'bind') {
      // Host paths only under the allowlist, read-only.
      expect(isAllowedHostPath(m.source, host.allowedMounts ?? [])).toBe(true);
      expect(m.options).toContain('ro');
    } else {
      expect(['proc', 'devpts', 'sysfs']).toContain(m.type);
    }
  }
  // Secrets: only those the document named, each granted and held.
  const secretNames = new Set(Object.keys(host.secretEnv ?? {}));
  for (const entry of p.env) {
    const name = entry.slice(0, entry.indexOf('='));
    if (secretNames.has(name) && !Object.hasOwn(doc.spec.run.env, name)) {
      expect(doc.spec.authority.secretRefs).toContain(name);
    }
  }
}

/** The code of the BundleConfigError that `make` throws, or what it returns; any other error fails. */
function refusalOf<T>(make: () => T): T | BundleConfigErrorCode {
  try {
    return make();
  } catch (err) {
    expect(err).toBeInstanceOf(BundleConfigError);
    return (err as BundleConfigError).code;
  }
}

/** The problems parseCellDocument reports, or undefined when it accepts the input. */
function problemsOf(input: unknown): readonly DocumentProblem[] | undefined {
  try {
    parseCellDocument(input);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CellDocumentError);
    return (err as CellDocumentError).problems;
  }
}

function expectLocated(problems: readonly DocumentProblem[]) {
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) {
    // The schema's problems start at a document field or (root); the bounds check (bounds.ts) also
    // locates a forbidden key where it stands, under any top-level field.
    expect(p.path).toMatch(/^(\(root\)|[A-Za-z_$])/);
    expect(p.message).not.toBe('');
    // zod's own wording ("Invalid input: ...") means a rule without a message of ours.
    expect(p.message).not.toMatch(/^(Invalid|Too (small|big))/);
  }
}

describe('documents the schema refuses', () => {
  test('a valid document with one field broken is refused, each problem located and worded', () => {
    fc.assert(
      fc.property(broken, (input) => {
        const problems = problemsOf(input);
        expect(problems).toBeDefined();
        expectLocated(problems!);
      }),
      { numRuns: 300 },
    );
  });

  test('any other value is accepted or refused with a CellDocumentError, never another error', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const problems = problemsOf(input);
        if (problems !== undefined) expectLocated(problems);
      }),
      { numRuns: 300 },
    );
  });
});
