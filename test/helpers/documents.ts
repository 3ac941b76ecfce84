// ExecutionCell documents for tests: one builder, used by every suite. Pure (no runsc, no Temporal).
import { parseCellDocument } from '../../src/document/parse.ts';
import type { CellDocument } from '../../src/document/schema.ts';

export interface RawCellDocument {
  apiVersion: 'cellos.io/v1';
  kind: 'ExecutionCell';
  spec: { id: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface DocumentOptions {
  /** spec.id; by default `<prefix>-<pid>-<n>`, unique in this test process. */
  readonly id?: string;
  /** Prefix of the generated id (default `t`). */
  readonly prefix?: string;
  /** spec.lifetime.ttlSeconds (default 60). */
  readonly ttlSeconds?: number;
  /** Merged into spec.run after argv. */
  readonly run?: Record<string, unknown>;
  /** Merged into spec (after id, authority and lifetime; before run). */
  readonly spec?: Record<string, unknown>;
}

let seq = 0;

/** A unique cell id for this test process: `<prefix>-<pid>-<n>`. */
export function uniqueCellId(prefix = 't'): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}`;
}

/** A valid document as a user writes it (not validated, no defaults applied). */
export function rawDocument(argv: readonly string[], opts: DocumentOptions = {}): RawCellDocument {
  return {
    apiVersion: 'cellos.io/v1',
    kind: 'ExecutionCell',
    spec: {
      id: opts.id ?? uniqueCellId(opts.prefix),
      authority: { secretRefs: [] },
      lifetime: { ttlSeconds: opts.ttlSeconds ?? 60 },
      ...opts.spec,
      run: { argv: [...argv], ...opts.run },
    },
  };
}

/** rawDocument for `/bin/sh -c script`. */
export function shDocument(script: string, opts: DocumentOptions = {}): RawCellDocument {
  return rawDocument(['/bin/sh', '-c', script], opts);
}

/** A validated document with defaults applied, as a host gets it. */
export function cellDocument(argv: readonly string[], opts: DocumentOptions = {}): CellDocument {
  return parseCellDocument(rawDocument(argv, opts));
}

/** What loopScript prints once its trap is set. */
export const TRAPPED = 'TRAPPED';

/**
 * A shell loop that runs until it is stopped: on SIGTERM it exits `onTerm`, or carries on
 * (`'ignore'`). It prints TRAPPED once the trap is set (see startRunningCell's `output`).
 */
export function loopScript(onTerm: number | 'ignore'): string {
  return `trap '${onTerm === 'ignore' ? '' : `exit ${onTerm}`}' TERM; echo ${TRAPPED}; while true; do sleep 0.1; done`;
}

/**
 * shDocument for a loopScript cell that is still running at its deadline: `ttlSeconds`, then
 * `graceSeconds` from SIGTERM to SIGKILL.
 */
export function deadlineDocument(
  onTerm: number | 'ignore',
  deadline: { ttlSeconds: number; graceSeconds: number },
  opts: DocumentOptions = {},
): RawCellDocument {
  return shDocument(loopScript(onTerm), {
    ...opts,
    ttlSeconds: deadline.ttlSeconds,
    run: { limits: { gracefulShutdownSeconds: deadline.graceSeconds }, ...opts.run },
  });
}
