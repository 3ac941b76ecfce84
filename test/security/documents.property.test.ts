// Generated hostile documents (issue 9, "Prove it"): at least 10,000 per run. The parser throws
// nothing but CellDocumentError, whatever it is given; and no document it accepts gets more from a
// strict host than the host grants. test/document/accepted.property.test.ts checks runsc ids and OCI
// validity on a permissive host; this file attacks: control characters, NUL and newlines, traversal
// and look-alike paths, huge and odd numbers, prototype keys, duplicate keys in JSON text.
import { posix } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BundleConfigError,
  SANDBOX_MEMORY_HEADROOM,
  generateBundleConfig,
  sandboxIdFor,
  type BundleHostOptions,
  type OciConfig,
} from '../../src/bundle/index.ts';
import {
  CellDocumentError,
  ENV_NAME_PATTERN,
  LIMITS,
  parseCellDocument,
  parseCellDocumentText,
  type CellDocument,
} from '../../src/document/index.ts';
import { validateOciConfig } from '../helpers/oci-schema.ts';

const MiB = 1024 * 1024;
const ALLOWED = '/srv/cellos-shared';
const ROOTFS = '/var/lib/cellos/rootfs/busybox';
const MEMORY = { defaultBytes: 256 * MiB, maxBytes: 1024 * MiB } as const;
const SECRETS: Readonly<Record<string, string>> = {
  TEAM_A_TOKEN: 'value-of-team-a-token',
  SHARED_TOKEN: 'value-of-shared-token',
};
const GRANTS: Readonly<Record<string, readonly string[]>> = { TEAM_A_TOKEN: ['team-a-*'], SHARED_TOKEN: ['*'] };
const CELL_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The strict host of the issue: no mounts (or only ALLOWED), no sandbox network, no root, a memory policy. */
function strictHost(allowedMounts: readonly string[]): BundleHostOptions {
  const sandboxId = sandboxIdFor('property', 'run-1');
  return {
    sandboxId,
    rootfsPath: ROOTFS,
    cgroupsPath: `/cellos/${sandboxId}/sandbox`,
    secretEnv: SECRETS,
    secretGrants: GRANTS,
    allowedMounts,
    allowSandboxNetwork: false,
    allowRootUser: false,
    memory: MEMORY,
  };
}
const NO_MOUNTS = strictHost([]);
const WITH_MOUNTS = strictHost([ALLOWED]);

/** Symlinks in the allowed folder, as the host finds them when it resolves a source (see prepare). */
const SYMLINKS: Readonly<Record<string, string>> = {
  [`${ALLOWED}/link-to-root`]: '/',
  [`${ALLOWED}/link-out`]: '/etc',
  [`${ALLOWED}/link-in`]: `${ALLOWED}/data`,
};
function resolveLikeTheHost(source: string): string {
  for (const [link, target] of Object.entries(SYMLINKS)) {
    if (source === link || source.startsWith(`${link}/`)) return posix.join(target, source.slice(link.length));
  }
  return source;
}

// Counts, checked at the end of the file.
let generated = 0;
let accepted = 0;
let configs = 0;
let validatedAgainstSchema = 0;
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

// ---- Hostile pieces ----

const controlChar = fc.constantFrom(
  '\u0000',
  '\n',
  '\r',
  '\t',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u202e',
  '\u200b',
  '\ufeff',
);
const withControl = fc
  .tuple(fc.string({ maxLength: 6 }), controlChar, fc.string({ maxLength: 6 }))
  .map(([a, c, b]) => `${a}${c}${b}`);
const protoKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
);
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: withControl },
  { weight: 1, arbitrary: protoKey },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', '-rf', '--root=/', '..', '.', '/', 'none', 'sandbox', 'host', 'env', '*'),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 3000, maxLength: 5000 }) },
);
const PATHS = [
  '/',
  '/..',
  '/../etc',
  ALLOWED,
  `${ALLOWED}/`,
  `${ALLOWED}/data`,
  `${ALLOWED}/../../etc/shadow`,
  `${ALLOWED}/./data`,
  `${ALLOWED}//data`,
  `${ALLOWED}-evil/data`,
  `${ALLOWED}\u0000/data`,
  `${ALLOWED}/data/..`,
  `${ALLOWED}/%2e%2e/etc`,
  `${ALLOWED.toUpperCase()}/data`,
  `${ALLOWED}/link-to-root`,
  `${ALLOWED}/link-out/shadow`,
  `${ALLOWED}/link-in`,
  '/srv',
  '/proc',
  '//proc',
  '/proc/',
  '/proc/self/root',
  '/proc/1/root/etc',
  '/dev/../proc',
  '/dev',
  '/dev/shm',
  '/sys/fs/cgroup',
  '/tmp',
  '/var/lib/cellos/state/bundles',
  '/etc/shadow',
  '\\..\\..\\etc',
  'relative/path',
  '',
  '~/x',
];
const pathSegment = fc.constantFrom('..', '.', '', 'srv', 'cellos-shared', 'etc', 'proc', 'self', 'tmp', 'a', '\u0000');
const hostilePath = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PATHS) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.boolean(), fc.array(pathSegment, { minLength: 1, maxLength: 6 }))
      .map(([abs, s]) => `${abs ? '/' : ''}${s.join('/')}`),
  },
  { weight: 1, arbitrary: withControl.map((s) => `/${s}`) },
);
const hostileNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    4095,
    4096,
    2 ** 31 - 2,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 63,
    1e308,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    LIMITS.memoryMinBytes - 1,
    MEMORY.defaultBytes,
    MEMORY.maxBytes,
    MEMORY.maxBytes + 1,
  ),
  fc.integer(),
  fc.double(),
);
/** Objects as JSON.parse makes them: `__proto__` an own key, not the prototype. */
const pollutedObject = fc
  .constantFrom(
    '{"__proto__":{"polluted":true,"uid":0}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"prototype":{"readOnly":false}}',
    '{"__proto__":[]}',
  )
  .map((text) => JSON.parse(text) as unknown);
const hostileKey = fc.oneof(protoKey, hostileString, fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostilePath },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, undefined, [], {}) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: pollutedObject },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileKey, hostileString, { maxKeys: 3 }) },
);

// ---- Documents: plausible ones, leaning on the edges of the host's policy ----

// Edges of the policy (root, group 0, sandbox network, memory and tmpfs over it, mounts outside the
// allowlist, a missing secret) each in a minority, so that most documents reach a bundle.
const uid = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 9, arbitrary: fc.integer({ min: 1, max: 70_000 }) },
);
const rarely = <T, U>(usual: fc.Arbitrary<T>, edge: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 9, arbitrary: usual }, { weight: 1, arbitrary: edge });
const baseDocument = fc.record({
  apiVersion: fc.constant('cellos.io/v1'),
  kind: fc.constant('ExecutionCell'),
  spec: fc.record(
    {
      id: fc.oneof(
        fc.constantFrom('team-a-build', 'team-b-test', 'team-a', 'x'),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
      ),
      authority: fc.record({
        secretRefs: fc.uniqueArray(
          rarely(fc.constantFrom('TEAM_A_TOKEN', 'SHARED_TOKEN'), fc.constant('MISSING_TOKEN')),
          {
            maxLength: 2,
          },
        ),
      }),
      lifetime: fc.record({ ttlSeconds: fc.integer({ min: 1, max: 3600 }) }),
      run: fc.record(
        {
          argv: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }).map((a) => ['/bin/sh', ...a]),
          workingDirectory: fc.constantFrom('/', '/tmp', '/work'),
          limits: fc.record(
            {
              memoryMaxBytes: rarely(
                fc.oneof(
                  fc.integer({ min: LIMITS.memoryMinBytes, max: MEMORY.maxBytes }),
                  fc.constantFrom(LIMITS.memoryMinBytes, 32 * MiB, 64 * MiB, MEMORY.defaultBytes, MEMORY.maxBytes),
                ),
                fc.integer({ min: MEMORY.maxBytes, max: 2 * MEMORY.maxBytes }),
              ),
              gracefulShutdownSeconds: fc.integer({ min: 1, max: 60 }),
            },
            { requiredKeys: [] },
          ),
          env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
          user: fc.record({ uid, gid: uid, additionalGids: fc.array(uid, { maxLength: 2 }) }, { requiredKeys: [] }),
          rlimits: fc.record(
            { openFiles: fc.integer({ min: 16, max: 4096 }), processes: fc.integer({ min: 1, max: 1024 }) },
            { requiredKeys: [] },
          ),
          tmpfs: fc.uniqueArray(
            fc.record({
              path: fc.constantFrom('/work', '/out', '/scratch', '/tmp'),
              sizeBytes: rarely(
                fc.oneof(fc.integer({ min: 4096, max: 64 * MiB }), fc.constantFrom(4096, MiB, 16 * MiB, 64 * MiB)),
                fc.integer({ min: 4096, max: 2 * MEMORY.maxBytes }),
              ),
            }),
            { maxLength: 2, selector: (t) => t.path },
          ),
          mounts: fc.uniqueArray(
            fc.record({
              source: rarely(
                fc.constantFrom(ALLOWED, `${ALLOWED}/data`, `${ALLOWED}/a/b`, `${ALLOWED}/link-in`),
                fc.constantFrom(
                  '/etc',
                  '/srv',
                  `${ALLOWED}-evil`,
                  '/',
                  `${ALLOWED}/link-to-root`,
                  `${ALLOWED}/link-out`,
                ),
              ),
              destination: fc.constantFrom('/data', '/in', '/ref'),
            }),
            { maxLength: 2, selector: (m) => m.destination },
          ),
          network: rarely(fc.constant('none'), fc.constant('sandbox')),
          output: fc.record(
            {
              maxStdoutBytes: fc.integer({ min: 0, max: 4 * MiB }),
              maxStderrBytes: fc.integer({ min: 0, max: 4 * MiB }),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ['argv'] },
      ),
      correlation: fc.record({ correlationId: fc.string({ maxLength: 40 }) }),
      export: fc.record({
        artifacts: fc.array(fc.record({ name: fc.constant('out'), path: fc.constantFrom('/out/a', '/work') }), {
          maxLength: 1,
        }),
      }),
    },
    { requiredKeys: ['id', 'authority', 'lifetime', 'run'] },
  ),
});

type Key = string | number;
/** Every field of a document (indexes reach into the first entries of lists), and the objects keys get added to. */
const FIELDS: readonly (readonly Key[])[] = [
  ['apiVersion'],
  ['kind'],
  ['spec'],
  ['spec', 'id'],
  ['spec', 'authority'],
  ['spec', 'authority', 'secretRefs'],
  ['spec', 'authority', 'secretRefs', 0],
  ['spec', 'lifetime'],
  ['spec', 'lifetime', 'ttlSeconds'],
  ['spec', 'run'],
  ['spec', 'run', 'argv'],
  ['spec', 'run', 'argv', 0],
  ['spec', 'run', 'argv', 1],
  ['spec', 'run', 'workingDirectory'],
  ['spec', 'run', 'secretDelivery'],
  ['spec', 'run', 'limits'],
  ['spec', 'run', 'limits', 'memoryMaxBytes'],
  ['spec', 'run', 'limits', 'cpuMax'],
  ['spec', 'run', 'limits', 'cpuMax', 'quotaMicros'],
  ['spec', 'run', 'limits', 'cpuMax', 'periodMicros'],
  ['spec', 'run', 'limits', 'gracefulShutdownSeconds'],
  ['spec', 'run', 'env'],
  ['spec', 'run', 'env', 'HOME'],
  ['spec', 'run', 'env', 'PATH'],
  ['spec', 'run', 'user'],
  ['spec', 'run', 'user', 'uid'],
  ['spec', 'run', 'user', 'gid'],
  ['spec', 'run', 'user', 'additionalGids'],
  ['spec', 'run', 'user', 'additionalGids', 0],
  ['spec', 'run', 'rlimits', 'openFiles'],
  ['spec', 'run', 'rlimits', 'processes'],
  ['spec', 'run', 'rlimits', 'fileSizeBytes'],
  ['spec', 'run', 'rootfs'],
  ['spec', 'run', 'rootfs', 'path'],
  ['spec', 'run', 'rootfs', 'image'],
  ['spec', 'run', 'tmpfs'],
  ['spec', 'run', 'tmpfs', 0, 'path'],
  ['spec', 'run', 'tmpfs', 0, 'sizeBytes'],
  ['spec', 'run', 'tmpfs', 1, 'path'],
  ['spec', 'run', 'mounts'],
  ['spec', 'run', 'mounts', 0, 'source'],
  ['spec', 'run', 'mounts', 0, 'destination'],
  ['spec', 'run', 'mounts', 0, 'readOnly'],
  ['spec', 'run', 'mounts', 1, 'source'],
  ['spec', 'run', 'network'],
  ['spec', 'run', 'output', 'maxStdoutBytes'],
  ['spec', 'run', 'output', 'maxStderrBytes'],
  ['spec', 'correlation', 'correlationId'],
  ['spec', 'export', 'artifacts', 0, 'path'],
  ['spec', 'telemetry'],
];
const OBJECTS: readonly (readonly Key[])[] = [
  [],
  ['spec'],
  ['spec', 'authority'],
  ['spec', 'run'],
  ['spec', 'run', 'limits'],
  ['spec', 'run', 'env'],
  ['spec', 'run', 'user'],
  ['spec', 'run', 'rlimits'],
  ['spec', 'run', 'mounts', 0],
  ['spec', 'run', 'tmpfs', 0],
  ['spec', 'run', 'output'],
];

type Mutation =
  | { readonly kind: 'set'; readonly path: readonly Key[]; readonly value: unknown }
  | { readonly kind: 'delete'; readonly path: readonly Key[] }
  | { readonly kind: 'add-key'; readonly path: readonly Key[]; readonly key: string; readonly value: unknown };

/** The value a field is set to: hostile in general, with the kind of hostility its field invites. */
function valueFor(path: readonly Key[]): fc.Arbitrary<unknown> {
  const last = path.at(-1);
  if (typeof last === 'string' && /path|source|destination|image|workingDirectory/i.test(last)) {
    return fc.oneof({ weight: 3, arbitrary: hostilePath }, { weight: 1, arbitrary: hostileValue });
  }
  if (typeof last === 'string' && /Bytes|Micros|Seconds|uid|gid|openFiles|processes/.test(last)) {
    return fc.oneof({ weight: 3, arbitrary: hostileNumber }, { weight: 1, arbitrary: hostileValue });
  }
  if (last === 'id' || last === 0 || last === 1) {
    return fc.oneof({ weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: hostileValue });
  }
  return hostileValue;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...FIELDS)
      .chain((path) => valueFor(path).map((value): Mutation => ({ kind: 'set', path, value }))),
  },
  { weight: 1, arbitrary: fc.constantFrom(...FIELDS).map((path): Mutation => ({ kind: 'delete', path })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...OBJECTS), hostileKey, hostileValue)
      .map(([path, key, value]): Mutation => ({ kind: 'add-key', path, key, value })),
  },
);

/** An own property, as JSON.parse makes it: `__proto__` included, never the prototype. */
function defineOwn(target: Record<Key, unknown>, key: Key, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function applyMutation(doc: Record<string, unknown>, m: Mutation): void {
  let target = doc as Record<Key, unknown>;
  const path = m.kind === 'add-key' ? [...m.path, m.key] : m.path;
  for (const [i, key] of path.slice(0, -1).entries()) {
    let next = Object.hasOwn(target, key) ? target[key] : undefined;
    if (next === null || typeof next !== 'object') {
      next = typeof path[i + 1] === 'number' ? [] : {};
      defineOwn(target, key, next);
    }
    target = next as Record<Key, unknown>;
  }
  const last = path.at(-1)!;
  if (m.kind === 'delete') delete target[last];
  else defineOwn(target, last, m.value);
}

/** JSON has no holes: an index set past the end leaves the gap null (sparse arrays come from anyValue). */
function fillHoles(value: unknown, seen = new Set<object>()): void {
  // A mutation can graft a value into itself: each object once, so a cycle ends the walk.
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) if (!(i in value)) value[i] = null;
  for (const child of Object.values(value)) fillHoles(child, seen);
}

/** A plausible document with 1-3 hostile mutations, or (half of them) none. */
const mutatedDocument: fc.Arbitrary<unknown> = fc
  .tuple(baseDocument, fc.oneof(fc.constant([]), fc.array(mutation, { minLength: 1, maxLength: 3 })))
  .map(([base, mutations]) => {
    // A copy: fast-check may hand the same generated value to the mapper again while shrinking.
    const doc = structuredClone(base) as Record<string, unknown>;
    for (const m of mutations) applyMutation(doc, m);
    fillHoles(doc);
    return doc;
  });

/** Anything at all, including what JSON cannot carry: bigints, Maps, typed arrays, null prototypes. */
const anyValueOptions = {
  key: fc.oneof(fc.string({ maxLength: 8 }), protoKey),
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withTypedArray: true,
} as const;
const anyValue = fc.anything(anyValueOptions);

interface Duplicate {
  /** Which object of the text (in the order written) gets it. */
  readonly at: number;
  /** Which of that object's keys is repeated. */
  readonly keyIndex: number;
  readonly value: unknown;
  /** Whether the repeat comes before the original (so the original wins) or after (so it does). */
  readonly before: boolean;
}

/** JSON text of `value`, with keys written twice as `dups` say. */
function jsonWithDuplicates(value: unknown, dups: readonly Duplicate[]): string {
  let objects = 0;
  // Only the document's own objects are numbered and get duplicates: numbering the objects inside
  // a duplicate's value could give one of them that same duplicate again, and so on for ever.
  const write = (v: unknown, own = true): string => {
    if (Array.isArray(v)) return `[${v.map((x) => write(x, own)).join(',')}]`;
    if (v !== null && typeof v === 'object') {
      const me = own ? objects++ : -1;
      const entries = Object.keys(v)
        .map((k) => [k, (v as Record<string, unknown>)[k]] as const)
        .filter(([, x]) => x !== undefined);
      const parts = entries.map(([k, x]) => `${JSON.stringify(k)}:${write(x, own)}`);
      for (const d of dups) {
        if (d.at !== me || entries.length === 0) continue;
        const key = entries[d.keyIndex % entries.length]![0];
        const index = parts.findIndex((p) => p.startsWith(`${JSON.stringify(key)}:`));
        parts.splice(d.before ? index : index + 1, 0, `${JSON.stringify(key)}:${write(d.value, false)}`);
      }
      return `{${parts.join(',')}}`;
    }
    return JSON.stringify(v) ?? 'null';
  };
  return write(value);
}

const duplicate = fc.record({
  at: fc.nat(20),
  keyIndex: fc.nat(),
  value: hostileValue,
  before: fc.boolean(),
});
const documentText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(mutatedDocument, fc.array(duplicate, { minLength: 1, maxLength: 3 }))
      .map(([doc, dups]) => jsonWithDuplicates(doc, dups)),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(mutatedDocument, fc.nat()).map(([doc, n]) => {
      const text = JSON.stringify(doc);
      return text.slice(0, n % (text.length + 1));
    }),
  },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
);

// ---- Checks ----

/** The accepted document, or undefined when refused with CellDocumentError; anything else fails. */
function parsed(run: () => CellDocument): CellDocument | undefined {
  generated += 1;
  try {
    const doc = run();
    accepted += 1;
    return doc;
  } catch (err) {
    if (err instanceof CellDocumentError) {
      expect(err.problems.length).toBeGreaterThan(0);
      for (const p of err.problems) expect(p.message).not.toBe('');
      return undefined;
    }
    throw err;
  }
}

/** The config, or undefined when the host refused with BundleConfigError naming a field; anything else fails. */
function bundled(doc: CellDocument, host: BundleHostOptions): OciConfig | undefined {
  try {
    const config = generateBundleConfig(doc, host);
    configs += 1;
    return config;
  } catch (err) {
    if (err instanceof BundleConfigError) {
      expect(err.failureType).toBe('CellRejectedByHost');
      expect(err.message).toMatch(/spec\.[a-z]/);
      return undefined;
    }
    throw err;
  }
}

/** Own oracle, not the code under test: `path` is a normal absolute path at or under one of `allowed`. */
function underAllowlist(path: string, allowed: readonly string[]): boolean {
  if (!path.startsWith('/') || path.includes('\0') || posix.normalize(path) !== path) return false;
  return allowed.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

function sizeOf(mount: { options?: string[] }): number {
  const option = mount.options?.find((o) => o.startsWith('size='));
  const m = /^size=(\d+)(k?)$/.exec(option ?? '');
  expect(m, `a tmpfs without a size: ${JSON.stringify(mount)}`).not.toBeNull();
  return Number(m![1]) * (m![2] === 'k' ? 1024 : 1);
}

function granted(cellId: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => new RegExp(`^${p.split('*').map(escape).join('.*')}$`).test(cellId));
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const BASE_MOUNTS = ['/proc', '/dev', '/dev/pts', '/dev/shm', '/sys'];
const KERNEL_FS = new Set(['proc', 'tmpfs', 'devpts', 'sysfs']);

/** What no accepted document may get from a strict host. */
function expectWithinStrictHost(doc: CellDocument, config: OciConfig, host: BundleHostOptions): void {
  const { process: proc, linux } = config;
  expect(proc.capabilities).toEqual({ bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] });
  expect(proc.noNewPrivileges).toBe(true);
  expect(proc.terminal).toBe(false);
  expect(config.root).toEqual({ path: ROOTFS, readonly: true });
  expect(config.hooks?.prestart ?? []).toEqual([]);

  // Never root, never group 0.
  expect(proc.user.uid).not.toBe(0);
  expect(proc.user.gid).not.toBe(0);
  expect(proc.user.additionalGids ?? []).not.toContain(0);

  // Its own namespaces, none joined from the host; no network beyond loopback.
  const namespaces = linux.namespaces as { type: string; path?: string }[];
  expect(namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
  for (const n of namespaces) expect(n.path).toBeUndefined();
  expect(doc.spec.run.network).toBe('none');

  // A memory limit, always, within the policy; tmpfs contents fit in it.
  const limit = linux.resources.memory?.limit;
  expect(Number.isSafeInteger(limit)).toBe(true);
  const cellMemory = limit! - SANDBOX_MEMORY_HEADROOM;
  expect(cellMemory).toBe(doc.spec.run.limits.memoryMaxBytes ?? MEMORY.defaultBytes);
  expect(cellMemory).toBeGreaterThanOrEqual(LIMITS.memoryMinBytes);
  expect(cellMemory).toBeLessThanOrEqual(MEMORY.maxBytes);
  const tmpfs = config.mounts.filter((m) => m.type === 'tmpfs');
  for (const m of tmpfs) expect(sizeOf(m)).toBeLessThanOrEqual(cellMemory);
  const declared = new Set(doc.spec.run.tmpfs.map((t) => t.path));
  const documentTmpfs = tmpfs.filter((m) => declared.has(m.destination));
  expect(documentTmpfs.reduce((n, m) => n + sizeOf(m), 0)).toBeLessThanOrEqual(cellMemory);
  expect(linux.resources.devices).toEqual([{ allow: false, access: 'rwm' }]);

  // Mounts: kernel file systems at their places, host folders only read-only from the allowlist.
  for (const [i, m] of config.mounts.entries()) {
    expect(m.destination.startsWith('/') && posix.normalize(m.destination) === m.destination).toBe(true);
    const options = m.options ?? [];
    const isBind = m.type === 'bind' || options.includes('bind') || options.includes('rbind');
    if (isBind) {
      expect(underAllowlist(m.source, host.allowedMounts ?? [])).toBe(true);
      expect(options).toContain('ro');
      expect(options).not.toContain('rw');
      expect(options).toEqual(expect.arrayContaining(['nosuid', 'nodev']));
    } else {
      expect(KERNEL_FS.has(m.type)).toBe(true);
      expect(m.source.startsWith('/')).toBe(false);
    }
    const reserved = ['/proc', '/dev', '/sys'].some((r) => m.destination === r || m.destination.startsWith(`${r}/`));
    if (reserved) expect(BASE_MOUNTS[i]).toBe(m.destination);
    if (m.destination === '/') expect.fail('a mount over the root');
  }

  // Environment: one portable name each; a secret only where it was asked for and granted.
  const names = proc.env.map((e) => e.slice(0, e.indexOf('=')));
  for (const name of names) expect(name).toMatch(ENV_NAME_PATTERN);
  expect(new Set(names).size).toBe(names.length);
  for (const entry of [...proc.env, ...proc.args, proc.cwd]) expect(entry).not.toContain('\0');
  for (const [name, value] of Object.entries(SECRETS)) {
    if (proc.env.some((e) => e.includes(value))) {
      expect(doc.spec.authority.secretRefs).toContain(name);
      expect(granted(doc.spec.id, GRANTS[name] ?? [])).toBe(true);
    }
  }

  expect(proc.rlimits).toContainEqual({
    type: 'RLIMIT_NPROC',
    hard: doc.spec.run.rlimits.processes,
    soft: doc.spec.run.rlimits.processes,
  });
  expect(proc.cwd.startsWith('/') && posix.normalize(proc.cwd) === proc.cwd).toBe(true);
  expect(config.hostname).toMatch(CELL_ID);
  expect(config.annotations['io.cellos.cell-id']).toBe(doc.spec.id);

  // A sample against the OCI schema (ajv is the slow part of a run).
  if (configs % 10 === 1) {
    expect(validateOciConfig(config)).toEqual([]);
    validatedAgainstSchema += 1;
  }
}

function expectStrictOnBothHosts(doc: CellDocument): void {
  expect(doc.spec.id).toMatch(CELL_ID);
  const resolved = doc.spec.run.mounts.map((m) => resolveLikeTheHost(m.source));
  for (const host of [NO_MOUNTS, { ...WITH_MOUNTS, mountSources: resolved }]) {
    const config = bundled(doc, host);
    if (config === undefined) continue;
    expectWithinStrictHost(doc, config, host);
    // The bundle names what the host resolved, never the document's path (a link swapped later is moot).
    expect(config.mounts.filter((m) => m.type === 'bind').map((m) => m.source)).toEqual(resolved);
  }
}

// ---- Properties ----

describe('the parser', () => {
  it('throws nothing but CellDocumentError for any value at all', () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, mutatedDocument), (input) => {
        const doc = parsed(() => parseCellDocument(input));
        if (doc !== undefined) expect(doc.spec.id).toMatch(CELL_ID);
      }),
      { numRuns: 3000 },
    );
  });

  it('throws nothing but CellDocumentError for values with sparse arrays, which a client program can pass', () => {
    // JSON never decodes to a hole, but parseCellDocument is also the client library's entry point.
    const holey = fc.tuple(mutatedDocument, fc.nat(40)).map(([doc, n]) => {
      const lists: unknown[][] = [];
      const find = (v: unknown) => {
        if (Array.isArray(v)) lists.push(v);
        if (v !== null && typeof v === 'object') Object.values(v).forEach(find);
      };
      find(doc);
      const list = lists[n % Math.max(lists.length, 1)];
      if (list !== undefined) list.length += 1 + (n % 3);
      return doc;
    });
    fc.assert(
      fc.property(fc.oneof(holey, fc.anything({ ...anyValueOptions, withSparseArray: true })), (input) => {
        parsed(() => parseCellDocument(input));
      }),
      { numRuns: 500 },
    );
  });

  it('throws nothing but CellDocumentError for any text, and reads duplicate keys as JSON.parse does', () => {
    fc.assert(
      fc.property(documentText, (text) => {
        const doc = parsed(() => parseCellDocumentText(text));
        let decoded: unknown;
        try {
          decoded = JSON.parse(text);
        } catch {
          expect(doc).toBeUndefined();
          return;
        }
        // The last duplicate is what the schema saw and what runs: the same as parsing the decoded value.
        let again: CellDocument | CellDocumentError;
        try {
          again = parseCellDocument(decoded);
        } catch (err) {
          again = err as CellDocumentError;
        }
        if (doc === undefined) expect(again).toBeInstanceOf(CellDocumentError);
        else expect(again).toEqual(doc);
        if (doc !== undefined) expectStrictOnBothHosts(doc);
      }),
      { numRuns: 2500 },
    );
  });
});

describe('a strict host', () => {
  it('gives no accepted document a capability, root, a writable root or host path, a network, or unlimited memory', () => {
    fc.assert(
      fc.property(mutatedDocument, (input) => {
        const doc = parsed(() => parseCellDocument(input));
        if (doc !== undefined) expectStrictOnBothHosts(doc);
      }),
      { numRuns: 4500 },
    );
  });
});

describe('tmpfs and memory', () => {
  it('counts every tmpfs the workload can fill, the implicit /tmp included, against the cell memory', () => {
    fc.assert(
      fc.property(mutatedDocument, (input) => {
        const doc = parsed(() => parseCellDocument(input));
        if (doc === undefined) return;
        const config = bundled(doc, NO_MOUNTS);
        if (config === undefined) return;
        const memory = config.linux.resources.memory!.limit - SANDBOX_MEMORY_HEADROOM;
        const fillable = config.mounts.filter(
          (m) => m.type === 'tmpfs' && m.destination !== '/dev' && m.destination !== '/dev/shm',
        );
        const total = fillable.reduce((n, m) => n + sizeOf(m), 0);
        expect(total, `tmpfs ${fillable.map((m) => `${m.destination}=${sizeOf(m)}`).join(' ')}`).toBeLessThanOrEqual(
          memory,
        );
      }),
      { numRuns: 1000 },
    );
  });
});

afterAll(() => {
  console.info(
    `documents: ${generated} generated, ${accepted} accepted by the schema, ${configs} bundle configs checked, ${validatedAgainstSchema} validated against the OCI schema`,
  );
});

describe('the run as a whole', () => {
  it('generated at least 10,000 documents, accepted and checked enough of them, and polluted no prototype', () => {
    expect(generated).toBeGreaterThanOrEqual(10_000);
    expect(accepted).toBeGreaterThanOrEqual(1_000);
    expect(configs).toBeGreaterThanOrEqual(500);
    expect(validatedAgainstSchema).toBeGreaterThanOrEqual(50);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
