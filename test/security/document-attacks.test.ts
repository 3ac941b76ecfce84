// Hand-written attacks on the document (issue 9, "Prove it"): one test per trick, each asserting that
// the refusal names the field and the rule. test/document/schema.test.ts and bounds.test.ts hold the
// plain invalid documents (a leading dash, `..` in a working directory, a decoded 6,000-deep object,
// 10 MB of text in one string, `__proto__` in spec.run); these are the hostile variants they do not
// cover, and the path attacks that only a host with real symlinks can answer.
import { thrownBy } from '../helpers/errors.ts';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BundleConfigError,
  generateBundleConfig,
  sandboxIdFor,
  type BundleHostOptions,
} from '../../src/bundle/index.ts';
import {
  CellDocumentError,
  LIMITS,
  cellIdOf,
  parseCellDocument,
  parseCellDocumentText,
  type CellDocument,
  type DocumentProblem,
} from '../../src/document/index.ts';
import type { CellHandle } from '../../src/host/cell-host.ts';
import { defaultRootfs, expectNoLeftovers, makeTestHost } from '../helpers/host.ts';
import { rawDocument, type RawCellDocument } from '../helpers/documents.ts';

const MiB = 1024 * 1024;

// The rules, in the words the schema uses (a test fails when a refusal stops naming its rule).
const ID_RULE = /must start with a letter or digit and contain only letters, digits, _ \. -/;
const ENV_NAME_RULE = /must be a portable environment variable name/;
const NUL_RULE = /must not contain NUL/;
const TRAVERSAL_RULE = /must not contain \. or \.\. segments \(path traversal\)/;
const EMPTY_SEGMENT_RULE = /must not contain empty segments/;
const ABSOLUTE_RULE = /must be an absolute path/;
const FORBIDDEN_KEY_RULE = /is not allowed in a document/;
const TOO_LARGE_RULE = /document too large/;
const TOO_DEEP_RULE = /document too deep/;

/** A host that grants nothing beyond the defaults: no mounts, no network, no root, a memory policy. */
const STRICT_HOST: BundleHostOptions = {
  sandboxId: sandboxIdFor('attack', 'run-1'),
  rootfsPath: '/var/lib/cellos/rootfs/busybox',
  cgroupsPath: '/cellos/attack/sandbox',
  secretEnv: { GRANTED: 'granted-value' },
  secretGrants: { GRANTED: ['*'] },
  allowedMounts: [],
  allowSandboxNetwork: false,
  allowRootUser: false,
  memory: { defaultBytes: 256 * MiB, maxBytes: 1024 * MiB },
};

function problemsOf(run: () => unknown): DocumentProblem[] {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a CellDocumentError').toBeInstanceOf(CellDocumentError);
  return [...(thrown as CellDocumentError).problems];
}

const bundleErrorOf = (run: () => unknown): BundleConfigError => thrownBy(run, BundleConfigError);

/** Expects exactly one problem, at `path`, whose message matches `rule`. */
function expectRefused(run: () => unknown, path: string, rule: RegExp): DocumentProblem {
  const problems = problemsOf(run);
  expect(problems).toEqual([{ path, message: expect.stringMatching(rule) as string }]);
  return problems[0]!;
}

/** JSON text of a valid document, with `"run":{` replaced by `"run":{<inserted>`. */
function textWithRun(inserted: string, doc: RawCellDocument = rawDocument(['/bin/true'])): string {
  const text = JSON.stringify(doc);
  expect(text).toContain('"run":{');
  return text.replace('"run":{', `"run":{${inserted}`);
}

/** No control character (C0, DEL, C1, line or paragraph separator) appears raw in a problem. */
function expectNoRawControl(problems: readonly DocumentProblem[]) {
  for (const p of problems) {
    expect(p.path).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(p.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  }
}

describe('cell ids', () => {
  const CONTROL = {
    NUL: '\u0000',
    newline: '\n',
    'carriage return': '\r',
    tab: '\t',
    escape: '\u001b',
    DEL: '\u007f',
    'next line (C1)': '\u0085',
    'line separator': '\u2028',
    'right-to-left override': '\u202e',
    'zero-width space': '\u200b',
  };

  it.each(Object.entries(CONTROL))(
    'refuses an id with a %s inside it, naming spec.id and the id rule without echoing the id',
    (_name, char) => {
      const problem = expectRefused(
        () => parseCellDocument(rawDocument(['/bin/true'], { id: `cell${char}1` })),
        'spec.id',
        ID_RULE,
      );
      expectNoRawControl([problem]);
      expect(cellIdOf(rawDocument(['/bin/true'], { id: `cell${char}1` }))).toBeUndefined();
    },
  );

  it('refuses an id that would forge a log line, and the forged text appears nowhere in the error', () => {
    const id = 'cell\nlevel=error msg="worker compromised"';
    let thrown: unknown;
    try {
      parseCellDocument(rawDocument(['/bin/true'], { id }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CellDocumentError);
    expect((thrown as CellDocumentError).problems).toEqual([
      { path: 'spec.id', message: expect.stringMatching(ID_RULE) },
    ]);
    expect((thrown as Error).message).not.toContain('compromised');
  });

  it('trims surrounding newlines as CellOS does, so runsc, the hostname and the workflow all see the trimmed id', () => {
    const doc = parseCellDocument(rawDocument(['/bin/true'], { id: '\r\n cell-7 \n' }));
    expect(doc.spec.id).toBe('cell-7');
    expect(cellIdOf(rawDocument(['/bin/true'], { id: '\r\n cell-7 \n' }))).toBe('cell-7');
    const config = generateBundleConfig(doc, STRICT_HOST);
    expect(config.hostname).toBe('cell-7');
    expect(config.annotations['io.cellos.cell-id']).toBe('cell-7');
  });

  it.each(['\n--root=/', ' -rf', '\t-d', '\u00a0--debug'])(
    'refuses an id that starts with a dash once trimmed (%j), which runsc would read as a flag',
    (id) => {
      expectRefused(() => parseCellDocument(rawDocument(['/bin/true'], { id })), 'spec.id', ID_RULE);
    },
  );

  it.each([
    ['a Cyrillic look-alike letter', 'c\u0435ll'],
    ['full-width letters', '\uff43\uff45\uff4c\uff4c'],
    ['a combining accent', 'cell\u0301'],
    ['a slash that is a unicode division slash', 'team\u2215cell'],
  ])('refuses an id with %s', (_what, id) => {
    expectRefused(() => parseCellDocument(rawDocument(['/bin/true'], { id })), 'spec.id', ID_RULE);
  });
});

describe('environment', () => {
  it.each(['A\nB', 'A\u0000', '\nPATH', 'PATH\n', 'LD_PRELOAD\r'])(
    'refuses the env name %j, naming it in the path with its control character escaped',
    (name) => {
      const problems = problemsOf(() =>
        parseCellDocument(rawDocument(['/bin/true'], { run: { env: { [name]: 'x' } } })),
      );
      expect(problems).toEqual([
        { path: `spec.run.env[${JSON.stringify(name)}]`, message: expect.stringMatching(ENV_NAME_RULE) as string },
      ]);
      expectNoRawControl(problems);
    },
  );

  it('refuses an env value with NUL (exec would cut it there), without quoting the value', () => {
    const problems = problemsOf(() =>
      parseCellDocument(rawDocument(['/bin/true'], { run: { env: { A: 'safe\u0000LD_PRELOAD=/tmp/evil.so' } } })),
    );
    expect(problems).toEqual([{ path: 'spec.run.env.A', message: expect.stringMatching(NUL_RULE) as string }]);
    expect(JSON.stringify(problems)).not.toContain('evil');
  });

  it('keeps an env value with a newline as one variable: it cannot inject a second one', () => {
    const doc = parseCellDocument(
      rawDocument(['/bin/true'], { run: { env: { A: 'line\nLD_PRELOAD=/tmp/evil.so\nPATH=/tmp' } } }),
    );
    const env = generateBundleConfig(doc, STRICT_HOST).process.env;
    expect(env).toContain('A=line\nLD_PRELOAD=/tmp/evil.so\nPATH=/tmp');
    expect(env.filter((e) => e.startsWith('LD_PRELOAD='))).toEqual([]);
    expect(env.filter((e) => e.startsWith('PATH='))).toHaveLength(1);
    const names = env.map((e) => e.slice(0, e.indexOf('=')));
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(['A\nB', 'A\u0000B', 'GRANTED\n'])('refuses the secret name %j, naming its index and the rule', (name) => {
    const doc = rawDocument(['/bin/true'], { spec: { authority: { secretRefs: [name] } } });
    const problems = problemsOf(() => parseCellDocument(doc));
    expect(problems).toEqual([
      { path: 'spec.authority.secretRefs[0]', message: expect.stringMatching(ENV_NAME_RULE) as string },
    ]);
    expectNoRawControl(problems);
  });
});

describe('size and depth', () => {
  it('refuses 10 MB of JSON text before decoding it, even when it is whitespace around a valid document', () => {
    const text = `${' '.repeat(10_000_000)}${JSON.stringify(rawDocument(['/bin/true']))}`;
    const started = performance.now();
    expectRefused(() => parseCellDocumentText(text), '(root)', TOO_LARGE_RULE);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('refuses a decoded million-element array (2 MB of JSON, as a workflow receives it) about as fast as it decodes', () => {
    // The CLI refuses such text before decoding it; a workflow or a client hands over the decoded
    // value, so the walk itself must stop at the bound instead of listing a million entries first.
    const text = JSON.stringify(rawDocument(['/bin/true'], { spec: { telemetry: new Array(1_000_000).fill(0) } }));
    expect(text.length).toBeGreaterThan(LIMITS.documentMaxTextBytes);
    const decodeStarted = performance.now();
    const decoded: unknown = JSON.parse(text);
    const decodeMs = performance.now() - decodeStarted;
    const started = performance.now();
    expectRefused(() => parseCellDocument(decoded), '(root)', TOO_LARGE_RULE);
    expect(performance.now() - started).toBeLessThan(Math.max(250, 5 * decodeMs));
  });

  it.each([6_000, 200_000])(
    'refuses JSON text nested %i deep in a known field (spec.run.env) without a stack overflow',
    (depth) => {
      const text = textWithRun(`"env":${'['.repeat(depth)}${']'.repeat(depth)},`);
      const started = performance.now();
      const problems = problemsOf(() => parseCellDocumentText(text));
      expect(performance.now() - started).toBeLessThan(500);
      expect(problems).toHaveLength(1);
      expect(problems[0]!.path).toMatch(/^spec\.run\.env(\[0\])+$/);
      expect(problems[0]!.message).toMatch(TOO_DEEP_RULE);
      expect(problems[0]!.message).toContain(String(LIMITS.documentMaxDepth));
    },
  );

  it('refuses a 6,000-deep argv element, naming where it got too deep', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 6_000; i++) deep = [deep];
    const problems = problemsOf(() => parseCellDocument(rawDocument(['/bin/true', deep as string])));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toMatch(/^spec\.run\.argv\[1\](\[0\])+$/);
    expect(problems[0]!.message).toMatch(TOO_DEEP_RULE);
  });
});

describe('prototype-pollution keys', () => {
  const KEYS = ['__proto__', 'constructor', 'prototype'] as const;

  it.each(KEYS)('refuses %s as an env name, naming spec.run.env and the rule', (key) => {
    const text = textWithRun(`"env":{"${key}":"x"},`);
    expectRefused(() => parseCellDocumentText(text), `spec.run.env.${key}`, FORBIDDEN_KEY_RULE);
  });

  it.each(KEYS)('refuses %s inside a mount entry and at the top level of the document', (key) => {
    const inMount = textWithRun(`"mounts":[{"source":"/srv","destination":"/data","${key}":{"readOnly":false}}],`);
    expect(problemsOf(() => parseCellDocumentText(inMount))).toContainEqual({
      path: `spec.run.mounts[0].${key}`,
      message: expect.stringMatching(FORBIDDEN_KEY_RULE) as string,
    });
    const atTop = `{"${key}":{"apiVersion":"cellos.io/v2"},${JSON.stringify(rawDocument(['/bin/true'])).slice(1)}`;
    expect(problemsOf(() => parseCellDocumentText(atTop))).toContainEqual({
      path: key,
      message: expect.stringMatching(FORBIDDEN_KEY_RULE) as string,
    });
  });

  it('leaves Object.prototype untouched when a document tries to give every object a uid of 0', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const text = textWithRun('"user":{"__proto__":{"uid":0,"polluted":true}},');
    expectRefused(() => parseCellDocumentText(text), 'spec.run.user.__proto__', FORBIDDEN_KEY_RULE);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).uid).toBeUndefined();
  });

  it('treats env names that are Object methods as plain variables of their own', () => {
    const doc = parseCellDocument(
      rawDocument(['/bin/true'], { run: { env: { toString: 'a', hasOwnProperty: 'b', valueOf: 'c' } } }),
    );
    expect(Object.keys(doc.spec.run.env).sort()).toEqual(['hasOwnProperty', 'toString', 'valueOf']);
    const env = generateBundleConfig(doc, STRICT_HOST).process.env;
    expect(env).toEqual(expect.arrayContaining(['toString=a', 'hasOwnProperty=b', 'valueOf=c']));
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'refuses the secret %s, which the host does not grant, instead of reading it off Object.prototype',
    (name) => {
      const doc = parseCellDocument(rawDocument(['/bin/true'], { spec: { authority: { secretRefs: [name] } } }));
      const err = bundleErrorOf(() => generateBundleConfig(doc, STRICT_HOST));
      expect(err.code).toBe('SecretNotGranted');
      expect(err.failureType).toBe('CellRejectedByHost');
      expect(err.message).toContain(`secret ${name} (spec.authority.secretRefs[0])`);
      expect(err.message).not.toMatch(/function|native code|\[object/);
    },
  );
});

describe('duplicate keys in JSON text', () => {
  // JSON.parse keeps the last of duplicate keys; the schema then sees only that value, so the value
  // that is validated is the value that runs. Each test pairs a hostile and a safe value both ways.
  const mountText = (readOnly: string) =>
    textWithRun(`"mounts":[{"source":"/srv/data","destination":"/data",${readOnly}}],`);
  const mountHost: BundleHostOptions = { ...STRICT_HOST, allowedMounts: ['/srv'] };

  it('the last of two duplicate keys wins', () => {
    const doc = parseCellDocumentText(textWithRun('"user":{"uid":1000,"uid":2000},'));
    expect(doc.spec.run.user.uid).toBe(2000);
  });

  it('cannot smuggle a writable host mount: readOnly true then false is refused, naming the field', () => {
    expectRefused(
      () => parseCellDocumentText(mountText('"readOnly":true,"readOnly":false')),
      'spec.run.mounts[0].readOnly',
      /must be true: host mounts are read-only/,
    );
  });

  it('a writable mount followed by a read-only duplicate runs read-only', () => {
    const doc = parseCellDocumentText(mountText('"readOnly":false,"readOnly":true'));
    const bind = generateBundleConfig(doc, mountHost).mounts.find((m) => m.type === 'bind');
    expect(bind?.options).toContain('ro');
    expect(bind?.options).not.toContain('rw');
  });

  it('cannot hide root behind a safe uid: 65534 then 0 is refused by a host without root, naming the field', () => {
    const doc = parseCellDocumentText(textWithRun('"user":{"uid":65534,"gid":65534,"uid":0},'));
    const err = bundleErrorOf(() => generateBundleConfig(doc, STRICT_HOST));
    expect(err.code).toBe('RootUserNotAllowed');
    expect(err.message).toContain('spec.run.user.uid');
    expect(err.message).toMatch(/root/);
  });

  it('cannot switch the network: "none" then "host" is refused, naming the field', () => {
    expectRefused(
      () => parseCellDocumentText(textWithRun('"network":"none","network":"host",')),
      'spec.run.network',
      /must be "none" or "sandbox"/,
    );
  });

  it('cannot hide a hostile run object behind a second one: the whole last object is what runs', () => {
    const doc = rawDocument(['/bin/true']);
    const text = JSON.stringify(doc).replace(
      '"run":{',
      '"run":{"argv":["/bin/sh"],"user":{"uid":0},"network":"sandbox"},"run":{',
    );
    const parsed = parseCellDocumentText(text);
    expect(parsed.spec.run.argv).toEqual(['/bin/true']);
    expect(parsed.spec.run.user.uid).toBe(65534);
    expect(parsed.spec.run.network).toBe('none');
  });
});

describe('path traversal in every path field', () => {
  type Place = (value: string) => RawCellDocument;
  const FIELDS: [field: string, place: Place][] = [
    ['spec.run.workingDirectory', (v) => rawDocument(['/bin/true'], { run: { workingDirectory: v } })],
    ['spec.run.tmpfs[0].path', (v) => rawDocument(['/bin/true'], { run: { tmpfs: [{ path: v }] } })],
    [
      'spec.run.mounts[0].source',
      (v) => rawDocument(['/bin/true'], { run: { mounts: [{ source: v, destination: '/data' }] } }),
    ],
    [
      'spec.run.mounts[0].destination',
      (v) => rawDocument(['/bin/true'], { run: { mounts: [{ source: '/srv/data', destination: v }] } }),
    ],
    ['spec.run.rootfs.path', (v) => rawDocument(['/bin/true'], { run: { rootfs: { path: v } } })],
    ['spec.run.rootfs.image', (v) => rawDocument(['/bin/true'], { run: { rootfs: { image: v } } })],
    [
      'spec.export.artifacts[0].path',
      (v) => rawDocument(['/bin/true'], { spec: { export: { artifacts: [{ name: 'a', path: v }] } } }),
    ],
  ];
  const ATTACKS: [value: string, rule: RegExp][] = [
    ['/srv/data/../../etc/shadow', TRAVERSAL_RULE],
    ['/..', TRAVERSAL_RULE],
    ['/srv/..', TRAVERSAL_RULE],
    ['/./etc', TRAVERSAL_RULE],
    ['/srv/./data', TRAVERSAL_RULE],
    ['//etc', EMPTY_SEGMENT_RULE],
    ['/srv//data', EMPTY_SEGMENT_RULE],
    ['/srv/data\u0000/../../etc', NUL_RULE],
    ['../etc', ABSOLUTE_RULE],
    ['etc/passwd', ABSOLUTE_RULE],
    ['', ABSOLUTE_RULE],
  ];

  it.each(FIELDS)('refuses every traversal in %s, naming the field and the rule', (field, place) => {
    for (const [value, rule] of ATTACKS) {
      const problems = problemsOf(() => parseCellDocument(place(value)));
      expect(problems, `${field} = ${JSON.stringify(value)}`).toContainEqual({
        path: field,
        message: expect.stringMatching(rule) as string,
      });
      expectNoRawControl(problems);
    }
  });

  it('accepts names that only look like traversal: each is one ordinary segment', () => {
    for (const name of ['%2e%2e', '...', '..\\..', '\u2025', '..a', 'a..']) {
      const doc = parseCellDocument(rawDocument(['/bin/true'], { run: { workingDirectory: `/srv/${name}` } }));
      expect(generateBundleConfig(doc, STRICT_HOST).process.cwd).toBe(`/srv/${name}`);
    }
  });
});

describe('symlinks in host path fields, on a host', () => {
  // A world of real folders: what the operator allows, what lies outside, and symlinks between them.
  let world: string;
  let host: Awaited<ReturnType<typeof makeTestHost>>;
  const at = (...parts: string[]) => join(world, ...parts);

  beforeAll(async () => {
    world = await realpath(await mkdtemp(join(tmpdir(), 'cellos-attack-')));
    for (const dir of ['mounts/data', 'rootfs/real/tmp', 'images', 'outside/tmp']) {
      await mkdir(at(dir), { recursive: true });
    }
    await writeFile(at('mounts', 'data', 'file'), 'allowed data\n');
    await writeFile(at('outside', 'secret'), 'HOST-SECRET-CONTENT\n');
    host = await makeTestHost({
      allowedMounts: [at('mounts')],
      allowedRootfs: [at('rootfs')],
      allowedImages: [at('images')],
    });
    const links: [string, string][] = [
      ['mounts/link-in', at('mounts', 'data')],
      ['mounts/link-out', at('outside')],
      ['mounts/link-root', '/'],
      ['mounts/link-up', '..'],
      ['mounts/link-state', host.config.stateDir],
      ['mounts/link-chain', at('mounts', 'link-out')],
      ['rootfs/link-root', '/'],
      ['rootfs/link-outside', at('outside')],
      ['rootfs/link-state', host.config.stateDir],
      ['rootfs/link-real', at('rootfs', 'real')],
      ['images/link-secret', at('outside', 'secret')],
      ['images/link-passwd', '/etc/passwd'],
      ['images/link-state', host.config.stateDir],
    ];
    for (const [link, target] of links) await symlink(target, at(link));
  });
  afterEach(async () => {
    await expectNoLeftovers(host);
  });
  afterAll(async () => {
    await host?.cleanupDir();
    if (world) await rm(world, { recursive: true, force: true });
  });

  const mountDoc = (source: string) =>
    parseCellDocument(rawDocument(['/bin/true'], { run: { mounts: [{ source, destination: '/work' }] } }));
  const rootfsDoc = (rootfs: { path: string } | { image: string }) =>
    parseCellDocument(rawDocument(['/bin/true'], { run: { rootfs } }));

  /** The host's refusal of `doc`; a cell it prepared instead is removed again, and the test fails. */
  async function refusal(doc: CellDocument): Promise<Error & { failureType?: string; reason?: string }> {
    let handle: CellHandle;
    try {
      handle = await host.prepare(doc, 'attack');
    } catch (err) {
      expect(err).toBeInstanceOf(Error);
      return err as Error;
    }
    await host.remove(handle);
    return expect.fail(
      `the host prepared ${JSON.stringify(doc.spec.run.rootfs ?? doc.spec.run.mounts)} instead of refusing it`,
    );
  }

  it.each(['link-out', 'link-root', 'link-up', 'link-state', 'link-chain', 'link-out/secret'])(
    'refuses a mount source through the symlink %s out of the allowed folder, naming the field',
    async (link) => {
      const err = await refusal(mountDoc(at('mounts', link)));
      expect(err.failureType).toBe('CellRejectedByHost');
      expect(err.message).toContain('spec.run.mounts[0].source');
      expect(err.message).toMatch(/allow/);
      expect(err.message).not.toContain('HOST-SECRET-CONTENT');
    },
  );

  it('binds the resolved folder of a symlink that stays inside the allowed folder, never the link', async () => {
    const handle = await host.prepare(mountDoc(at('mounts', 'link-in')), 'inside');
    try {
      const config = JSON.parse(await readFile(join(handle.bundleDir, 'config.json'), 'utf8')) as {
        mounts: { type: string; source: string; destination: string }[];
      };
      expect(config.mounts.filter((m) => m.type === 'bind').map((m) => m.source)).toEqual([at('mounts', 'data')]);
    } finally {
      await host.remove(handle);
    }
  });

  it.each([
    ['the host root', () => '/'],
    ['the host state folder', () => host.config.stateDir],
    ['a folder outside the allowlist shaped like a rootfs', () => at('outside')],
    ['a symlink from the allowed folder to /', () => at('rootfs', 'link-root')],
    ['a symlink from the allowed folder to a folder outside', () => at('rootfs', 'link-outside')],
    ['a symlink from the allowed folder to the state folder', () => at('rootfs', 'link-state')],
  ])('refuses %s as spec.run.rootfs.path with NotAllowed', async (_what, path) => {
    const err = await refusal(rootfsDoc({ path: path() }));
    expect(err.failureType).toBe('CellRejectedByHost');
    expect(err.reason).toBe('NotAllowed');
    expect(err.message).toContain('spec.run.rootfs.path');
  });

  it('accepts a rootfs inside the allowed folder, also through a symlink, as its realpath', async () => {
    const handle = await host.prepare(rootfsDoc({ path: at('rootfs', 'link-real') }), 'rootfs-ok');
    try {
      const config = JSON.parse(await readFile(join(handle.bundleDir, 'config.json'), 'utf8')) as {
        root: { path: string; readonly: boolean };
      };
      expect(config.root).toEqual({ path: at('rootfs', 'real'), readonly: true });
    } finally {
      await host.remove(handle);
    }
  });

  it.each([
    ['a host file outside the allowlist', () => '/etc/passwd'],
    ['a symlink from the allowed folder to a file outside', () => at('images', 'link-secret')],
    ['a symlink from the allowed folder to /etc/passwd', () => at('images', 'link-passwd')],
    ['a symlink from the allowed folder to the state folder', () => at('images', 'link-state')],
  ])('refuses %s as spec.run.rootfs.image, without quoting the file', async (_what, image) => {
    const err = await refusal(rootfsDoc({ image: image() }));
    expect(err.failureType).toBe('CellRejectedByHost');
    expect(err.reason).toBe('NotAllowed');
    expect(err.message).toContain('spec.run.rootfs.image');
    expect(err.message).not.toContain('HOST-SECRET-CONTENT');
    expect(err.message).not.toMatch(/root:x:0:0/);
  });

  it('refuses a path outside the allowlists in the same words whether or not it exists', async () => {
    const pairs: [string, (p: string) => CellDocument][] = [
      ['spec.run.rootfs.path', (p) => rootfsDoc({ path: p })],
      ['spec.run.rootfs.image', (p) => rootfsDoc({ image: p })],
      ['spec.run.mounts[0].source', (p) => mountDoc(p)],
    ];
    const existing = at('outside');
    const missing = at('outside-missing');
    // The refusal's words, with the path and the cell id (unique per document) left out.
    const words = async (doc: CellDocument, path: string) =>
      (await refusal(doc)).message.replaceAll(path, '<path>').replaceAll(doc.spec.id, '<id>');
    for (const [field, doc] of pairs) {
      const [a, b] = [await words(doc(existing), existing), await words(doc(missing), missing)];
      expect(a, field).toContain(field);
      expect(a, field).toBe(b);
    }
  });

  it('finds the default rootfs usable as it is (the control for the refusals above)', async () => {
    const handle = await host.prepare(parseCellDocument(rawDocument(['/bin/true'])), 'default');
    try {
      const config = JSON.parse(await readFile(join(handle.bundleDir, 'config.json'), 'utf8')) as {
        root: { path: string };
      };
      expect(config.root.path).toBe(await realpath(defaultRootfs()));
    } finally {
      await host.remove(handle);
    }
  });
});
