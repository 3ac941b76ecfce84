import { describe, expect, test } from 'vitest';
import {
  ARGV_BASE64_LIMIT,
  CellDocumentError,
  LIMITS,
  parseCellDocument,
  parseCellDocumentText,
  type DocumentProblem,
} from '../../src/document/index.ts';
import {
  EXTENSION_DOCUMENTS,
  FULL_DOCUMENT,
  REAL_DOCUMENT,
  documentJson,
  documentText,
  type LooseDocument,
} from '../fixtures/documents/load.ts';

const MiB = 1024 * 1024;
const ID_RULE =
  'must start with a letter or digit and contain only letters, digits, _ . - (runsc and file names carry it)';
const ENV_RULE = 'must be a portable environment variable name ([A-Za-z_][A-Za-z0-9_]*)';
const TRAVERSAL = 'must not contain . or .. segments (path traversal)';
const ARGV_TOO_LARGE = `is too large: base64 of its JSON must be at most ${ARGV_BASE64_LIMIT} bytes (CellOS ArgvTooLarge)`;

/** The problems parseCellDocument reports for `doc`; fails the test if it parses or throws anything else. */
function problemsOf(doc: unknown): readonly DocumentProblem[] {
  let thrown: unknown;
  try {
    parseCellDocument(doc);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CellDocumentError);
  return (thrown as CellDocumentError).problems;
}

/** The real CellOS document with `change` applied to a fresh copy. */
function realWith(change: (doc: LooseDocument) => void): LooseDocument {
  const doc = documentJson(REAL_DOCUMENT);
  change(doc);
  return doc;
}

/** An argv whose JSON encoding is exactly `bytes` bytes long (ASCII only). */
function argvOfJsonBytes(bytes: number): string[] {
  const head = '/bin/echo';
  // ["/bin/echo","<pad>"] = 2 brackets + 2 quoted strings (+4 quotes) + 1 comma
  return [head, 'a'.repeat(bytes - head.length - 7)];
}

function base64LengthOfJson(argv: string[]): number {
  return Buffer.from(JSON.stringify(argv), 'utf8').toString('base64').length;
}

describe('the CellOS examples', () => {
  test('parses the real document from the CellOS supervisor tests as it is', () => {
    const doc = parseCellDocumentText(documentText(REAL_DOCUMENT));
    expect(doc.apiVersion).toBe('cellos.io/v1');
    expect(doc.kind).toBe('ExecutionCell');
    expect(doc.spec.id).toBe('t-timeout');
    expect(doc.spec.authority.secretRefs).toEqual([]);
    expect(doc.spec.lifetime.ttlSeconds).toBe(60);
    expect(doc.spec.run.argv).toEqual(['/bin/sh', '-c', 'sleep 2']);
    expect(doc.spec.run.secretDelivery).toBe('env');
  });

  test('parses a document that uses every CellOS field, keeping each value', () => {
    const input = documentJson(FULL_DOCUMENT);
    const doc = parseCellDocument(input);
    expect(doc.spec.id).toBe('demo-cell-001');
    expect(doc.spec.authority.secretRefs).toEqual(['DB_PASSWORD']);
    expect(doc.spec.lifetime.ttlSeconds).toBe(60);
    expect(doc.spec.run.argv).toEqual(input.spec.run.argv);
    expect(doc.spec.run.workingDirectory).toBe('/work');
    expect(doc.spec.run.secretDelivery).toBe('env');
    expect(doc.spec.run.limits).toEqual({
      memoryMaxBytes: 268435456,
      cpuMax: { quotaMicros: 50000, periodMicros: 100000 },
      gracefulShutdownSeconds: 5,
    });
    expect(doc.spec.correlation).toEqual({ correlationId: 'req-7f3a9c' });
    expect(doc.spec.export).toEqual({ artifacts: [{ name: 'report', path: '/out/report.json' }] });
    expect(doc.spec.placement).toEqual({ labels: { pool: 'default', zone: 'eu-1' } });
  });

  test('keeps CellOS spec fields whose shapes it does not know (telemetry, ingress, ...) unchanged', () => {
    const input = documentJson(FULL_DOCUMENT);
    const spec = parseCellDocument(input).spec as Record<string, unknown>;
    for (const field of ['telemetry', 'ingress', 'environment', 'policy', 'identity']) {
      expect(spec[field], field).toEqual(input.spec[field]);
    }
  });

  test('keeps unknown top-level fields and unknown fields inside correlation and export', () => {
    const doc = parseCellDocument(
      realWith((d) => {
        d.metadata = { labels: { team: 'infra' } };
        d.spec.correlation = { correlationId: 'c-1', traceParent: '00-abc-def-01' };
        d.spec.export = { artifacts: [{ name: 'log', path: '/out/log.txt', mediaType: 'text/plain' }], target: 's3' };
      }),
    ) as LooseDocument;
    expect(doc.metadata).toEqual({ labels: { team: 'infra' } });
    expect(doc.spec.correlation.traceParent).toBe('00-abc-def-01');
    expect(doc.spec.export.target).toBe('s3');
    expect(doc.spec.export.artifacts[0].mediaType).toBe('text/plain');
  });

  test.each(EXTENSION_DOCUMENTS)('accepts the extension example %s as it is', (name) => {
    const input = documentJson(name);
    const run = parseCellDocumentText(documentText(name)).spec.run as Record<string, unknown>;
    for (const [field, value] of Object.entries(input.spec.run as Record<string, unknown>)) {
      if (field === 'mounts' || field === 'tmpfs') continue; // defaults filled in per entry, checked below
      expect(run[field], field).toEqual(value);
    }
  });

  test('fills in the defaults of tmpfs and mount entries in the extension examples', () => {
    expect(parseCellDocument(documentJson('ext-tmpfs')).spec.run.tmpfs).toEqual([
      { path: '/tmp', sizeBytes: 16 * MiB },
      { path: '/scratch', sizeBytes: 64 * MiB },
    ]);
    expect(parseCellDocument(documentJson('ext-mounts')).spec.run.mounts).toEqual([
      { source: '/srv/datasets/iris', destination: '/data', readOnly: true },
      { source: '/srv/models', destination: '/models', readOnly: true },
    ]);
  });
});

describe('defaults', () => {
  test('fills every omitted run field with its safe default', () => {
    const run = parseCellDocument(documentJson(REAL_DOCUMENT)).spec.run;
    expect(run).toEqual({
      argv: ['/bin/sh', '-c', 'sleep 2'],
      workingDirectory: '/',
      secretDelivery: 'env',
      limits: { gracefulShutdownSeconds: 5 },
      env: {},
      user: { uid: 65534, gid: 65534, additionalGids: [] },
      rlimits: { openFiles: 1024, processes: 512 },
      tmpfs: [],
      mounts: [],
      network: 'none',
      output: { maxStdoutBytes: LIMITS.outputDefaultBytes, maxStderrBytes: LIMITS.outputDefaultBytes },
    });
    expect(run.rootfs).toBeUndefined();
    expect(run.limits.memoryMaxBytes).toBeUndefined();
    expect(run.limits.cpuMax).toBeUndefined();
  });

  test('runs as nobody (uid and gid 65534) unless the document names a user', () => {
    const user = parseCellDocument(realWith((d) => (d.spec.run.user = {}))).spec.run.user;
    expect(user).toEqual({ uid: 65534, gid: 65534, additionalGids: [] });
    const partial = parseCellDocument(realWith((d) => (d.spec.run.user = { uid: 1000 }))).spec.run.user;
    expect(partial).toEqual({ uid: 1000, gid: 65534, additionalGids: [] });
  });

  test('gives a 5 second grace and a 100000 µs CPU period when limits leave them out', () => {
    const limits = parseCellDocument(
      realWith((d) => (d.spec.run.limits = { memoryMaxBytes: 64 * MiB, cpuMax: { quotaMicros: 20000 } })),
    ).spec.run.limits;
    expect(limits).toEqual({
      memoryMaxBytes: 64 * MiB,
      cpuMax: { quotaMicros: 20000, periodMicros: 100_000 },
      gracefulShutdownSeconds: 5,
    });
  });

  test('caps captured stdout and stderr at 1 MiB each unless told otherwise', () => {
    expect(LIMITS.outputDefaultBytes).toBe(MiB);
    const output = parseCellDocument(realWith((d) => (d.spec.run.output = { maxStdoutBytes: 10 }))).spec.run.output;
    expect(output).toEqual({ maxStdoutBytes: 10, maxStderrBytes: MiB });
  });

  test('treats a missing secretRefs list as no secrets', () => {
    expect(parseCellDocument(realWith((d) => (d.spec.authority = {}))).spec.authority).toEqual({ secretRefs: [] });
  });

  test('trims the cell id as CellOS does', () => {
    expect(parseCellDocument(realWith((d) => (d.spec.id = '  t-timeout\n'))).spec.id).toBe('t-timeout');
  });

  test('gives every parsed document its own default objects', () => {
    const a = parseCellDocument(documentJson(REAL_DOCUMENT));
    const b = parseCellDocument(documentJson(REAL_DOCUMENT));
    a.spec.run.user.additionalGids.push(0);
    a.spec.run.env.INJECTED = 'x';
    a.spec.run.tmpfs.push({ path: '/x', sizeBytes: 4096 });
    expect(b.spec.run.user.additionalGids).toEqual([]);
    expect(b.spec.run.env).toEqual({});
    expect(b.spec.run.tmpfs).toEqual([]);
    expect(parseCellDocument(documentJson(REAL_DOCUMENT)).spec.run.user.additionalGids).toEqual([]);
  });
});

describe('argv size (CellOS ArgvTooLarge)', () => {
  test('accepts an argv whose base64 JSON is exactly the CellOS limit', () => {
    const argv = argvOfJsonBytes((ARGV_BASE64_LIMIT / 4) * 3);
    expect(base64LengthOfJson(argv)).toBe(ARGV_BASE64_LIMIT);
    expect(parseCellDocument(realWith((d) => (d.spec.run.argv = argv))).spec.run.argv).toEqual(argv);
  });

  test('refuses an argv one byte over the CellOS limit', () => {
    const argv = argvOfJsonBytes((ARGV_BASE64_LIMIT / 4) * 3 + 1);
    expect(base64LengthOfJson(argv)).toBeGreaterThan(ARGV_BASE64_LIMIT);
    expect(problemsOf(realWith((d) => (d.spec.run.argv = argv)))).toEqual([
      { path: 'spec.run.argv', message: ARGV_TOO_LARGE },
    ]);
  });

  test('counts UTF-8 bytes, not characters, against the limit', () => {
    // 1200 two-byte characters: 2400+ bytes of JSON, over the limit with far fewer characters.
    const argv = ['/bin/echo', 'é'.repeat(1200)];
    expect(JSON.stringify(argv).length).toBeLessThan((ARGV_BASE64_LIMIT / 4) * 3);
    expect(base64LengthOfJson(argv)).toBeGreaterThan(ARGV_BASE64_LIMIT);
    expect(problemsOf(realWith((d) => (d.spec.run.argv = argv)))).toEqual([
      { path: 'spec.run.argv', message: ARGV_TOO_LARGE },
    ]);
  });
});

interface InvalidCase {
  readonly title: string;
  readonly change: (doc: LooseDocument) => void;
  readonly problems: readonly DocumentProblem[];
}

const invalid: InvalidCase[] = [
  // apiVersion and kind
  {
    title: 'refuses a document without apiVersion',
    change: (d) => delete d.apiVersion,
    problems: [{ path: 'apiVersion', message: 'is required' }],
  },
  {
    title: 'refuses an apiVersion other than cellos.io/v1',
    change: (d) => (d.apiVersion = 'cellos.io/v2'),
    problems: [{ path: 'apiVersion', message: 'must be "cellos.io/v1"' }],
  },
  {
    title: 'refuses a document without kind',
    change: (d) => delete d.kind,
    problems: [{ path: 'kind', message: 'is required' }],
  },
  {
    title: 'refuses a kind other than ExecutionCell',
    change: (d) => (d.kind = 'Pod'),
    problems: [{ path: 'kind', message: 'must be "ExecutionCell"' }],
  },
  {
    title: 'refuses a spec that is not an object',
    change: (d) => (d.spec = 'run this'),
    problems: [{ path: 'spec', message: 'must be an object' }],
  },
  // id
  {
    title: 'refuses an empty id as CellOS MissingCellId, reported once',
    change: (d) => (d.spec.id = ''),
    problems: [{ path: 'spec.id', message: 'must not be empty (MissingCellId)' }],
  },
  {
    title: 'refuses an id of only whitespace as CellOS MissingCellId',
    change: (d) => (d.spec.id = ' \t\n '),
    problems: [{ path: 'spec.id', message: 'must not be empty (MissingCellId)' }],
  },
  {
    title: 'refuses an id that is not a string',
    change: (d) => (d.spec.id = 42),
    problems: [{ path: 'spec.id', message: 'must be a string' }],
  },
  {
    title: 'refuses a missing id',
    change: (d) => delete d.spec.id,
    problems: [{ path: 'spec.id', message: 'is required' }],
  },
  {
    title: 'refuses an id with a slash, which would escape its state directory',
    change: (d) => (d.spec.id = 'team/cell'),
    problems: [{ path: 'spec.id', message: ID_RULE }],
  },
  {
    title: 'refuses an id with a leading dash, which runsc would read as a flag',
    change: (d) => (d.spec.id = '-help'),
    problems: [{ path: 'spec.id', message: ID_RULE }],
  },
  {
    title: 'refuses an id with a plus sign',
    change: (d) => (d.spec.id = 'cell+1'),
    problems: [{ path: 'spec.id', message: ID_RULE }],
  },
  {
    title: 'refuses an id with inner spaces',
    change: (d) => (d.spec.id = 'my cell'),
    problems: [{ path: 'spec.id', message: ID_RULE }],
  },
  {
    title: 'refuses an id longer than 63 characters',
    change: (d) => (d.spec.id = 'c'.repeat(LIMITS.cellIdMaxLength + 1)),
    problems: [{ path: 'spec.id', message: 'must be at most 63 characters' }],
  },
  // paths
  {
    title: 'refuses a working directory that climbs out with ..',
    change: (d) => (d.spec.run.workingDirectory = '/work/../etc'),
    problems: [{ path: 'spec.run.workingDirectory', message: TRAVERSAL }],
  },
  {
    title: 'refuses a relative working directory',
    change: (d) => (d.spec.run.workingDirectory = 'work'),
    problems: [{ path: 'spec.run.workingDirectory', message: 'must be an absolute path (start with /)' }],
  },
  {
    title: 'refuses a tmpfs path with ..',
    change: (d) => (d.spec.run.tmpfs = [{ path: '/tmp/../etc' }]),
    problems: [{ path: 'spec.run.tmpfs[0].path', message: TRAVERSAL }],
  },
  {
    title: 'refuses a mount source with ..',
    change: (d) => (d.spec.run.mounts = [{ source: '/srv/data/../../etc', destination: '/data' }]),
    problems: [{ path: 'spec.run.mounts[0].source', message: TRAVERSAL }],
  },
  {
    title: 'refuses a mount destination with ..',
    change: (d) => (d.spec.run.mounts = [{ source: '/srv/data', destination: '/data/../bin' }]),
    problems: [{ path: 'spec.run.mounts[0].destination', message: TRAVERSAL }],
  },
  {
    title: 'refuses a tmpfs over /proc',
    change: (d) => (d.spec.run.tmpfs = [{ path: '/proc' }]),
    problems: [{ path: 'spec.run.tmpfs[0].path', message: 'must not mount over /proc (reserved)' }],
  },
  {
    title: 'refuses a tmpfs below /dev, which the bundle mounts itself',
    change: (d) => (d.spec.run.tmpfs = [{ path: '/dev/shm' }]),
    problems: [{ path: 'spec.run.tmpfs[0].path', message: 'must not mount over /dev/shm (reserved)' }],
  },
  {
    title: 'refuses a mount over the root',
    change: (d) => (d.spec.run.mounts = [{ source: '/srv/data', destination: '/' }]),
    problems: [{ path: 'spec.run.mounts[0].destination', message: 'must not mount over / (reserved)' }],
  },
  {
    title: 'refuses a path with an empty segment, which would hide /proc from the reserved check',
    change: (d) => (d.spec.run.tmpfs = [{ path: '//proc' }]),
    problems: [{ path: 'spec.run.tmpfs[0].path', message: 'must not contain empty segments (//)' }],
  },
  {
    title: 'refuses two mounts at the same destination',
    change: (d) =>
      (d.spec.run.mounts = [
        { source: '/srv/a', destination: '/data' },
        { source: '/srv/b', destination: '/data' },
      ]),
    problems: [
      {
        path: 'spec.run.mounts[1].destination',
        message: 'mounts /data again (already mounted by spec.run.mounts[0].destination)',
      },
    ],
  },
  {
    title: 'refuses a bind mount where a tmpfs already is, even spelled with a trailing slash',
    change: (d) => {
      d.spec.run.tmpfs = [{ path: '/scratch' }];
      d.spec.run.mounts = [{ source: '/srv/a', destination: '/scratch/' }];
    },
    problems: [
      {
        path: 'spec.run.mounts[0].destination',
        message: 'mounts /scratch/ again (already mounted by spec.run.tmpfs[0].path)',
      },
    ],
  },
  {
    title: 'refuses a writable host mount',
    change: (d) => (d.spec.run.mounts = [{ source: '/srv/data', destination: '/data', readOnly: false }]),
    problems: [{ path: 'spec.run.mounts[0].readOnly', message: 'must be true: host mounts are read-only' }],
  },
  {
    title: 'refuses a rootfs that names both a path and an image',
    change: (d) => (d.spec.run.rootfs = { path: '/srv/rootfs', image: '/srv/image.tar' }),
    problems: [
      {
        path: 'spec.run.rootfs',
        message: 'must be { "path": "/host/dir" } or { "image": "/host/image.tar or OCI layout dir" }',
      },
    ],
  },
  // argv
  {
    title: 'refuses an empty argv as CellOS MissingArgv',
    change: (d) => (d.spec.run.argv = []),
    problems: [{ path: 'spec.run.argv', message: 'must contain at least 1 element' }],
  },
  {
    title: 'refuses argv elements that are not strings',
    change: (d) => (d.spec.run.argv = ['/bin/sleep', 2]),
    problems: [{ path: 'spec.run.argv[1]', message: 'must be a string' }],
  },
  {
    title: 'refuses an argv that is a single string',
    change: (d) => (d.spec.run.argv = '/bin/sh -c true'),
    problems: [{ path: 'spec.run.argv', message: 'must be an array of strings' }],
  },
  {
    title: 'refuses argv elements with a NUL byte',
    change: (d) => (d.spec.run.argv = ['/bin/echo', 'a\0b']),
    problems: [{ path: 'spec.run.argv[1]', message: 'must not contain NUL' }],
  },
  {
    title: 'refuses an empty program name',
    change: (d) => (d.spec.run.argv = ['', 'x']),
    problems: [{ path: 'spec.run.argv', message: 'the program (argv[0]) must not be empty' }],
  },
  {
    title: 'refuses a document without run (the gVisor backend needs one)',
    change: (d) => delete d.spec.run,
    problems: [{ path: 'spec.run', message: 'is required' }],
  },
  // env
  {
    title: 'refuses an env name that starts with a digit',
    change: (d) => (d.spec.run.env = { '1ABC': 'x' }),
    problems: [{ path: 'spec.run.env["1ABC"]', message: ENV_RULE }],
  },
  {
    title: 'refuses an env name with a dash',
    change: (d) => (d.spec.run.env = { 'A-B': 'x' }),
    problems: [{ path: 'spec.run.env["A-B"]', message: ENV_RULE }],
  },
  {
    title: 'refuses an env name with an equals sign',
    change: (d) => (d.spec.run.env = { 'A=B': 'x' }),
    problems: [{ path: 'spec.run.env["A=B"]', message: ENV_RULE }],
  },
  {
    title: 'refuses an env value that is not a string',
    change: (d) => (d.spec.run.env = { PORT: 8080 }),
    problems: [{ path: 'spec.run.env.PORT', message: 'must be a string' }],
  },
  {
    title: 'refuses env given as a list of NAME=value strings',
    change: (d) => (d.spec.run.env = ['A=1']),
    problems: [{ path: 'spec.run.env', message: 'must be an object of NAME: "value" strings' }],
  },
  {
    title: 'refuses a secret name that is not a portable env name',
    change: (d) => (d.spec.authority.secretRefs = ['db-password']),
    problems: [{ path: 'spec.authority.secretRefs[0]', message: ENV_RULE }],
  },
  // lifetime
  {
    title: 'refuses a ttl of 0',
    change: (d) => (d.spec.lifetime.ttlSeconds = 0),
    problems: [{ path: 'spec.lifetime.ttlSeconds', message: 'must be at least 1' }],
  },
  {
    title: 'refuses a negative ttl',
    change: (d) => (d.spec.lifetime.ttlSeconds = -60),
    problems: [{ path: 'spec.lifetime.ttlSeconds', message: 'must be at least 1' }],
  },
  {
    title: 'refuses a fractional ttl',
    change: (d) => (d.spec.lifetime.ttlSeconds = 1.5),
    problems: [{ path: 'spec.lifetime.ttlSeconds', message: 'must be a whole number' }],
  },
  {
    title: 'refuses a ttl longer than 7 days',
    change: (d) => (d.spec.lifetime.ttlSeconds = 7 * 24 * 3600 + 1),
    problems: [
      { path: 'spec.lifetime.ttlSeconds', message: 'must be at most 604800 (wall-clock deadline in seconds)' },
    ],
  },
  {
    title: 'refuses a ttl written as a string',
    change: (d) => (d.spec.lifetime.ttlSeconds = '60'),
    problems: [{ path: 'spec.lifetime.ttlSeconds', message: 'must be a number (wall-clock deadline in seconds)' }],
  },
  {
    title: 'refuses a document without lifetime',
    change: (d) => delete d.spec.lifetime,
    problems: [{ path: 'spec.lifetime', message: 'is required' }],
  },
  // limits
  {
    title: 'refuses a memory limit of 0',
    change: (d) => (d.spec.run.limits = { memoryMaxBytes: 0 }),
    problems: [{ path: 'spec.run.limits.memoryMaxBytes', message: 'must be at least 16777216' }],
  },
  {
    title: 'refuses a negative memory limit',
    change: (d) => (d.spec.run.limits = { memoryMaxBytes: -1 }),
    problems: [{ path: 'spec.run.limits.memoryMaxBytes', message: 'must be at least 16777216' }],
  },
  {
    title: 'refuses a memory limit too small for the sandbox to start',
    change: (d) => (d.spec.run.limits = { memoryMaxBytes: 8 * MiB }),
    problems: [{ path: 'spec.run.limits.memoryMaxBytes', message: 'must be at least 16777216' }],
  },
  {
    title: 'refuses an absurd memory limit',
    change: (d) => (d.spec.run.limits = { memoryMaxBytes: 2 ** 50 }),
    problems: [
      { path: 'spec.run.limits.memoryMaxBytes', message: 'must be at most 1099511627776 (memory limit in bytes)' },
    ],
  },
  {
    title: 'refuses a CPU quota of 0',
    change: (d) => (d.spec.run.limits = { cpuMax: { quotaMicros: 0 } }),
    problems: [{ path: 'spec.run.limits.cpuMax.quotaMicros', message: 'must be at least 1000' }],
  },
  {
    title: 'refuses a CPU period of 0',
    change: (d) => (d.spec.run.limits = { cpuMax: { quotaMicros: 50000, periodMicros: 0 } }),
    problems: [{ path: 'spec.run.limits.cpuMax.periodMicros', message: 'must be at least 1000' }],
  },
  {
    title: 'refuses a grace period of 0',
    change: (d) => (d.spec.run.limits = { gracefulShutdownSeconds: 0 }),
    problems: [{ path: 'spec.run.limits.gracefulShutdownSeconds', message: 'must be at least 1' }],
  },
  {
    title: 'refuses rlimits of 0',
    change: (d) => (d.spec.run.rlimits = { openFiles: 0, processes: 0, fileSizeBytes: 0 }),
    problems: [
      { path: 'spec.run.rlimits.openFiles', message: 'must be at least 16' },
      { path: 'spec.run.rlimits.processes', message: 'must be at least 1' },
      { path: 'spec.run.rlimits.fileSizeBytes', message: 'must be at least 1' },
    ],
  },
  {
    title: 'refuses a negative uid',
    change: (d) => (d.spec.run.user = { uid: -1 }),
    problems: [{ path: 'spec.run.user.uid', message: 'must be at least 0' }],
  },
  // authority, delivery, network, strictness
  {
    title: 'refuses a secret delivery other than env',
    change: (d) => (d.spec.run.secretDelivery = 'file'),
    problems: [
      { path: 'spec.run.secretDelivery', message: 'only "env" is supported (other deliveries are not enforced yet)' },
    ],
  },
  {
    title: 'refuses authority egress rules, which this backend does not enforce',
    change: (d) => (d.spec.authority.egressRules = [{ host: 'api.example.org', port: 443 }]),
    problems: [
      {
        path: 'spec.authority',
        message:
          'unsupported authority field(s) egressRules: not enforced by this backend, so refused rather than ignored',
      },
    ],
  },
  {
    title: 'refuses any unknown authority field, naming each',
    change: (d) => {
      d.spec.authority.egress = [];
      d.spec.authority.filesystem = { write: ['/'] };
    },
    problems: [
      {
        path: 'spec.authority',
        message:
          'unsupported authority field(s) egress, filesystem: not enforced by this backend, so refused rather than ignored',
      },
    ],
  },
  {
    title: 'refuses an authority that is not an object',
    change: (d) => (d.spec.authority = ['DB_PASSWORD']),
    problems: [{ path: 'spec.authority', message: 'must be an object' }],
  },
  {
    title: 'refuses a misspelt field in spec.run instead of ignoring it',
    change: (d) => (d.spec.run.workdir = '/work'),
    problems: [
      { path: 'spec.run', message: 'unknown field(s) workdir (check the spelling; unknown fields here are refused)' },
    ],
  },
  {
    title: 'refuses a misspelt field in limits instead of ignoring it',
    change: (d) => (d.spec.run.limits = { memoryMaxByte: 64 * MiB }),
    problems: [
      {
        path: 'spec.run.limits',
        message: 'unknown field(s) memoryMaxByte (check the spelling; unknown fields here are refused)',
      },
    ],
  },
  {
    title: 'refuses a network other than none or sandbox',
    change: (d) => (d.spec.run.network = 'host'),
    problems: [{ path: 'spec.run.network', message: 'must be "none" or "sandbox"' }],
  },
  {
    title: 'refuses a placement rule it does not enforce (a cell would run where it asked not to)',
    change: (d) => (d.spec.placement = { labels: { zone: 'a' }, nodeSelector: { gpu: 'yes' } }),
    problems: [
      {
        path: 'spec.placement',
        message:
          'unsupported placement field(s) nodeSelector: only labels is enforced by this backend, so refused rather than ignored',
      },
    ],
  },
  {
    title: 'refuses placement labels with a bad name, a bad value or too many of them',
    change: (d) => (d.spec.placement = { labels: { Zone: 'a', gpu: 'a b', a: '1', b: '2', c: '3' } }),
    problems: [
      { path: 'spec.placement.labels', message: 'must have at most 4 labels' },
      {
        path: 'spec.placement.labels.Zone',
        message:
          'label name "Zone" must be 1-32 characters of a-z 0-9 . _ -, starting and ending with a letter or digit',
      },
      {
        path: 'spec.placement.labels.gpu',
        message:
          'label gpu\'s value "a b" must be at most 63 characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit',
      },
    ],
  },
  {
    title: 'refuses an export artifact without a name or with a relative path',
    change: (d) => (d.spec.export = { artifacts: [{ name: '', path: 'out/report.json' }] }),
    problems: [
      {
        path: 'spec.export.artifacts[0].name',
        message:
          'must be 1 to 64 letters, digits, _ . - starting with a letter or digit (it names a file and an object key)',
      },
      { path: 'spec.export.artifacts[0].path', message: 'must be an absolute path (start with /)' },
    ],
  },
];

describe('invalid documents', () => {
  test('covers at least 30 distinct invalid documents', () => {
    expect(new Set(invalid.map((c) => c.title)).size).toBe(invalid.length);
    expect(invalid.length).toBeGreaterThanOrEqual(30);
  });

  for (const { title, change, problems } of invalid) {
    test(title, () => {
      expect(problemsOf(realWith(change))).toEqual(problems);
    });
  }

  test('reports every problem of a document at once', () => {
    const doc = realWith((d) => {
      d.apiVersion = 'v1';
      d.spec.id = '-x';
      d.spec.lifetime.ttlSeconds = 0;
      d.spec.run.argv = ['/bin/sh', 3];
      d.spec.run.env = { 'A-B': '1' };
      d.spec.run.tmpfs = [{ path: '/sys' }];
      d.spec.authority.egress = [];
    });
    const problems = problemsOf(doc);
    expect(problems).toHaveLength(7);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'apiVersion', message: 'must be "cellos.io/v1"' },
        { path: 'spec.id', message: ID_RULE },
        { path: 'spec.lifetime.ttlSeconds', message: 'must be at least 1' },
        { path: 'spec.run.argv[1]', message: 'must be a string' },
        { path: 'spec.run.env["A-B"]', message: ENV_RULE },
        { path: 'spec.run.tmpfs[0].path', message: 'must not mount over /sys (reserved)' },
        {
          path: 'spec.authority',
          message:
            'unsupported authority field(s) egress: not enforced by this backend, so refused rather than ignored',
        },
      ]),
    );
  });

  test('lists each problem on its own line in the error message', () => {
    let message = '';
    try {
      parseCellDocument(realWith((d) => ((d.spec.id = ''), (d.spec.lifetime.ttlSeconds = 0))));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      'invalid cell document:\n  spec.id: must not be empty (MissingCellId)\n  spec.lifetime.ttlSeconds: must be at least 1',
    );
  });

  test('refuses text that is not JSON, naming its source', () => {
    let thrown: unknown;
    try {
      parseCellDocumentText('{"apiVersion": "cellos.io/v1",', 'cell.json');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CellDocumentError);
    const problems = (thrown as CellDocumentError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('(root)');
    expect(problems[0]!.message).toMatch(/^cell\.json is not valid JSON: \S/);
  });

  test('refuses JSON that is not an object', () => {
    expect(() => parseCellDocumentText('[]')).toThrow(CellDocumentError);
    expect(problemsOf(null)).toEqual([{ path: '(root)', message: 'must be an object' }]);
  });

  test('never puts an env value into a problem', () => {
    const problems = problemsOf(realWith((d) => (d.spec.run.env = { 'BAD-NAME': 'hunter2-secret' })));
    expect(JSON.stringify(problems)).not.toContain('hunter2');
  });
});
