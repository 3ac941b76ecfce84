// The CellOS ExecutionCell document, as zod schemas. Pure: no I/O, no runtime APIs.
// CellOS fields are accepted as CellOS writes them; our extensions live under spec.run
// as optional fields with safe defaults. Fields that would grant or restrict authority
// and are not enforced here are refused rather than ignored.
import { z } from 'zod';
import { ARTIFACT_NAME_PATTERN, artifactMounts } from './artifacts.ts';
import { RESERVED_MOUNT_POINTS } from './reserved.ts';
import { CELL_ID_PATTERN } from './cell-id.ts';
import { ARGV_BASE64_LIMIT, LIMITS } from './limits.ts';
import { MAX_CELL_LABELS, labelProblem } from '../placement/labels.ts';

const MiB = 1024 * 1024;

/** POSIX portable environment variable names. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const int = (min: number, max: number, what: string) =>
  z
    .number({ error: `must be a number (${what})` })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max} (${what})` });

/** An absolute path inside the sandbox: starts with /, no `..` or `.` segments, no NUL. */
export const SandboxPath = z
  .string({ error: 'must be a string' })
  .refine((p) => p.startsWith('/'), { error: 'must be an absolute path (start with /)' })
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), {
    error: 'must not contain . or .. segments (path traversal)',
  })
  // `//proc` names /proc: without this, a mount there would slip past the reserved-path check.
  .refine((p) => !p.includes('//'), { error: 'must not contain empty segments (//)' })
  .refine((p) => !p.includes('\0'), { error: 'must not contain NUL' })
  .refine((p) => p.length <= 4096, { error: 'must be at most 4096 characters' });

/** An absolute host path; same rules, checked again against the allowlist on the host. */
export const HostPath = SandboxPath;

const EnvName = z
  .string()
  .regex(ENV_NAME_PATTERN, { error: 'must be a portable environment variable name ([A-Za-z_][A-Za-z0-9_]*)' });

const NoNul = z
  .string({ error: 'must be a string' })
  .refine((s) => !s.includes('\0'), { error: 'must not contain NUL' });

const EnvValue = NoNul.refine((s) => utf8Length(s) <= LIMITS.envValueMaxBytes, {
  error: `must be at most ${LIMITS.envValueMaxBytes} bytes`,
});

export const CpuMax = z.strictObject({
  quotaMicros: int(1000, 1_000_000_000, 'CPU quota in microseconds per period'),
  periodMicros: int(1000, 1_000_000, 'CPU period in microseconds').default(100_000),
});

export const Limits = z.strictObject({
  memoryMaxBytes: int(LIMITS.memoryMinBytes, LIMITS.memoryMaxBytes, 'memory limit in bytes').optional(),
  cpuMax: CpuMax.optional(),
  gracefulShutdownSeconds: int(1, 3600, 'SIGTERM-to-SIGKILL grace in seconds').default(5),
});

export const User = z.strictObject({
  uid: int(0, 2 ** 31 - 2, 'user id').default(65534),
  gid: int(0, 2 ** 31 - 2, 'group id').default(65534),
  additionalGids: z
    .array(int(0, 2 ** 31 - 2, 'group id'), { error: 'must be an array of group ids' })
    .max(32, { error: 'must have at most 32 entries' })
    .default([]),
});

export const Rlimits = z.strictObject({
  openFiles: int(16, 1_048_576, 'RLIMIT_NOFILE').default(1024),
  /** RLIMIT_NPROC: the fork-bomb cap (runsc's pids limit counts runsc's own threads). */
  processes: int(1, 65_536, 'RLIMIT_NPROC').default(512),
  fileSizeBytes: int(1, 2 ** 50, 'RLIMIT_FSIZE in bytes').optional(),
});

export const Rootfs = z.union([z.strictObject({ path: HostPath }), z.strictObject({ image: HostPath })], {
  error: 'must be { "path": "/host/dir" } or { "image": "/host/image.tar or OCI layout dir" }',
});

/**
 * A mount point inside the sandbox: not / and not over what the bundle mounts itself. Checked per
 * field (not in Run's cross-field check) so that it is reported even when other fields are wrong.
 */
const MountPoint = SandboxPath.refine(
  (p) => p !== '/' && !RESERVED_MOUNTS.some((r) => p === r || p.startsWith(`${r}/`)),
  { error: (iss) => `must not mount over ${String(iss.input)} (reserved)` },
);

export const Tmpfs = z.strictObject({
  path: MountPoint,
  sizeBytes: int(4096, 64 * 1024 * MiB, 'tmpfs size in bytes').default(64 * MiB),
});

export const BindMount = z.strictObject({
  source: HostPath,
  destination: MountPoint,
  // Read-only is the only mode: a document cannot ask for write access to the host.
  readOnly: z.literal(true, { error: 'must be true: host mounts are read-only' }).default(true),
});

export const Output = z.strictObject({
  maxStdoutBytes: int(0, LIMITS.outputMaxBytes, 'captured stdout cap in bytes').default(LIMITS.outputDefaultBytes),
  maxStderrBytes: int(0, LIMITS.outputMaxBytes, 'captured stderr cap in bytes').default(LIMITS.outputDefaultBytes),
});

export const Run = z
  .strictObject({
    argv: z
      .array(NoNul, { error: 'must be an array of strings' })
      .min(1, { error: 'must contain at least 1 element' })
      .refine((a) => a[0] !== '', { error: 'the program (argv[0]) must not be empty' })
      .refine((a) => base64Length(JSON.stringify(a)) <= ARGV_BASE64_LIMIT, {
        error: `is too large: base64 of its JSON must be at most ${ARGV_BASE64_LIMIT} bytes (CellOS ArgvTooLarge)`,
      }),
    workingDirectory: SandboxPath.default('/'),
    secretDelivery: z
      .literal('env', { error: 'only "env" is supported (other deliveries are not enforced yet)' })
      .default('env'),
    limits: Limits.default({ gracefulShutdownSeconds: 5 }),
    // Extensions: all optional, safe defaults.
    env: z
      .record(EnvName, EnvValue, {
        // Only for a non-object: a bad name keeps EnvName's own message (see problemsOf).
        error: (iss) => (iss.code === 'invalid_type' ? 'must be an object of NAME: "value" strings' : undefined),
      })
      .refine((e) => Object.keys(e).length <= 256, { error: 'must have at most 256 variables' })
      .refine(
        (e) => Object.entries(e).reduce((n, [k, v]) => n + k.length + 1 + utf8Length(v), 0) <= LIMITS.envMaxBytes,
        {
          error: `must be at most ${LIMITS.envMaxBytes} bytes in all`,
        },
      )
      .default({}),
    // A function: zod clones a default shallowly, so a literal would share one additionalGids array.
    user: User.default(() => ({ uid: 65534, gid: 65534, additionalGids: [] })),
    rlimits: Rlimits.default({ openFiles: 1024, processes: 512 }),
    rootfs: Rootfs.optional(),
    tmpfs: z.array(Tmpfs).max(16, { error: 'must have at most 16 entries' }).default([]),
    mounts: z.array(BindMount).max(16, { error: 'must have at most 16 entries' }).default([]),
    network: z.enum(['none', 'sandbox'], { error: 'must be "none" or "sandbox"' }).default('none'),
    output: Output.default({
      maxStdoutBytes: LIMITS.outputDefaultBytes,
      maxStderrBytes: LIMITS.outputDefaultBytes,
    }),
  })
  .superRefine((run, ctx) => {
    const seen = new Map<string, string>();
    const claim = (path: string, where: (string | number)[]) => {
      // `/d/` and `/d` are one mount point.
      const key = path.length > 1 ? path.replace(/\/+$/, '') : path;
      const before = seen.get(key);
      if (before !== undefined) {
        ctx.addIssue({ code: 'custom', path: where, message: `mounts ${path} again (already mounted by ${before})` });
      }
      seen.set(key, `spec.run.${where[0]}[${where[1]}].${where[2]}`);
    };
    run.tmpfs.forEach((t, i) => claim(t.path, ['tmpfs', i, 'path']));
    run.mounts.forEach((m, i) => claim(m.destination, ['mounts', i, 'destination']));
  });

/** Paths the bundle itself mounts; documents may not replace them. */
export const RESERVED_MOUNTS = RESERVED_MOUNT_POINTS;

export const Authority = z.strictObject(
  {
    secretRefs: z
      .array(EnvName, { error: 'must be an array of secret names' })
      .max(64, { error: 'must have at most 64 entries' })
      .default([]),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unsupported authority field(s) ${iss.keys.join(', ')}: not enforced by this backend, so refused rather than ignored`
        : 'must be an object',
  },
);

/**
 * Where the cell may run: on a host that has every label asked for. Strict: a placement rule this
 * backend does not know would otherwise be ignored, and the cell run where it asked not to.
 */
export const Placement = z.strictObject(
  {
    labels: z
      .record(z.string(), z.string({ error: 'must be a string' }), { error: 'must be an object of name: value' })
      .superRefine((labels, ctx) => {
        const names = Object.keys(labels);
        if (names.length > MAX_CELL_LABELS) {
          ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_CELL_LABELS} labels` });
        }
        for (const name of names) {
          const problem = labelProblem(name, labels[name]!);
          if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
        }
      })
      .default({}),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unsupported placement field(s) ${iss.keys.join(', ')}: only labels is enforced by this backend, so refused rather than ignored`
        : 'must be an object',
  },
);

export const Lifetime = z.strictObject({
  ttlSeconds: int(1, LIMITS.ttlMaxSeconds, 'wall-clock deadline in seconds'),
});

export const Spec = z.looseObject({
  id: z
    .string({ error: 'must be a string' })
    .transform((s) => s.trim())
    .pipe(
      z
        .string()
        // abort: an empty id is one problem, not also a pattern mismatch.
        .min(1, { error: 'must not be empty (MissingCellId)', abort: true })
        .max(LIMITS.cellIdMaxLength, { error: `must be at most ${LIMITS.cellIdMaxLength} characters` })
        .regex(CELL_ID_PATTERN, {
          error:
            'must start with a letter or digit and contain only letters, digits, _ . - (runsc and file names carry it)',
        }),
    ),
  authority: Authority,
  lifetime: Lifetime,
  run: Run,
  placement: Placement.optional(),
  correlation: z
    .looseObject({
      correlationId: z
        .string({ error: 'must be a string' })
        .max(256, { error: 'must be at most 256 characters' })
        .optional(),
    })
    .optional(),
  export: z
    .looseObject({
      artifacts: z
        .array(
          z.looseObject({
            name: z.string({ error: 'must be a string' }).regex(ARTIFACT_NAME_PATTERN, {
              error:
                'must be 1 to 64 letters, digits, _ . - starting with a letter or digit (it names a file and an object key)',
            }),
            path: SandboxPath,
          }),
        )
        .max(64, { error: 'must have at most 64 entries' })
        .optional(),
    })
    .optional(),
});

/** Artifacts: unique names, each on a writable mount of the cell (see artifacts.ts). */
const SpecChecked = Spec.superRefine((spec, ctx) => {
  // zod runs this also when fields failed their own checks: look only at what has its shape.
  const artifacts = spec.export?.artifacts;
  const run = spec.run as Partial<typeof spec.run> | undefined;
  if (!Array.isArray(artifacts) || !Array.isArray(run?.tmpfs) || !Array.isArray(run.mounts)) return;
  if (!artifacts.every((a) => typeof a?.name === 'string' && typeof a.path === 'string')) return;
  if (!run.tmpfs.every((t) => typeof t?.path === 'string')) return;
  if (!run.mounts.every((m) => typeof m?.destination === 'string')) return;
  const names = new Map<string, number>();
  for (const [i, a] of artifacts.entries()) {
    const before = names.get(a.name);
    if (before !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['export', 'artifacts', i, 'name'],
        message: `names ${a.name} again (already spec.export.artifacts[${before}].name)`,
      });
    }
    names.set(a.name, i);
  }
  for (const p of artifactMounts({ tmpfs: run.tmpfs, mounts: run.mounts }, artifacts).problems) {
    ctx.addIssue({ code: 'custom', path: ['export', 'artifacts', p.index, 'path'], message: p.message });
  }
});

export const CellDocument = z.looseObject({
  apiVersion: z.literal('cellos.io/v1', { error: 'must be "cellos.io/v1"' }),
  kind: z.literal('ExecutionCell', { error: 'must be "ExecutionCell"' }),
  spec: SpecChecked,
});

/** A validated document with every default applied. */
export type CellDocument = z.output<typeof CellDocument>;
/** What callers may write: defaults optional. */
export type CellDocumentInput = z.input<typeof CellDocument>;
export type CellSpec = CellDocument['spec'];
export type CellRun = CellSpec['run'];

function base64Length(text: string): number {
  const bytes = new TextEncoder().encode(text).length;
  return Math.ceil(bytes / 3) * 4;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
