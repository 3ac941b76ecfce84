// Running the real `cellos` (node bin/cellos.js, from the compiled dist/) as a child process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { shDocument, type DocumentOptions, type RawCellDocument } from '../helpers/documents.ts';
import { defaultRootfs, expectNoLeftovers, repoRoot } from '../helpers/host.ts';
import { startTestBed, type TemporalTestBed } from '../helpers/temporal.ts';

export const binPath = join(repoRoot, 'bin', 'cellos.js');

const STAMP = join(repoRoot, 'dist', '.cli-tests-stamp');

/**
 * Builds dist/ (tsc -p tsconfig.build.json) unless it is newer than every source. Type errors in
 * files under edit do not stop the emit; they are `npx tsc --noEmit`'s to report, so they are only
 * shown here. A build that emits no CLI fails.
 */
export async function buildDist(): Promise<void> {
  if (await upToDate()) return;
  const started = new Date();
  const result = await promisify(execFile)(
    join(repoRoot, 'node_modules', '.bin', 'tsc'),
    ['-p', 'tsconfig.build.json'],
    {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
    },
  ).then(
    () => ({ code: 0, out: '' }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? 1, out: err.stdout ?? String(err) }),
  );
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error(`tsc -p tsconfig.build.json emitted no dist/src/cli/main.js (exit ${result.code}):\n${result.out}`);
  }
  if (result.code !== 0)
    console.warn(`tsc -p tsconfig.build.json reported type errors (dist/ emitted anyway):\n${result.out}`);
  await writeFile(STAMP, '');
  // The stamp carries the build's start: a source saved during the build makes the next run build again.
  await utimes(STAMP, started, started);
}

async function upToDate(): Promise<boolean> {
  const stamp = await stat(STAMP).catch(() => undefined);
  if (!stamp || !existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'))) return false;
  const newer = async (dir: string): Promise<boolean> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory() ? await newer(p) : e.name.endsWith('.ts') && (await stat(p)).mtimeMs > stamp.mtimeMs)
        return true;
    }
    return false;
  };
  for (const d of ['src', 'workflows', 'activities']) if (await newer(join(repoRoot, d))) return false;
  for (const f of ['tsconfig.json', 'tsconfig.build.json']) {
    if ((await stat(join(repoRoot, f))).mtimeMs > stamp.mtimeMs) return false;
  }
  return true;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderrSoFar(): string;
  readonly done: Promise<CliResult>;
}

export type Env = Record<string, string | undefined>;

export interface CliOptions {
  readonly env: Env;
  readonly stdin?: string;
  readonly timeoutMs?: number;
  /** The working directory (default: the repository's root). */
  readonly cwd?: string;
}

/** Starts `cellos <args>`; the result settles when it exits (killed after `timeoutMs`). */
export function startCli(args: readonly string[], opts: CliOptions): CliProcess {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: definedOnly(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(opts.stdin ?? '');
  const timeoutMs = opts.timeoutMs ?? 45_000;
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `cellos ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stderrSoFar: () => stderr, done };
}

export function cli(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  return startCli(args, opts).done;
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

export interface CliSandbox {
  readonly dir: string;
  readonly stateDir: string;
  readonly hostId: string;
  /** The environment for the CLI: this file's host state, the test rootfs, no Temporal settings. */
  readonly env: Env;
  /** Writes a document into the temp folder and returns its path. */
  doc(name: string, doc: unknown): Promise<string>;
  cleanup(): Promise<void>;
}

/** A temp folder, host state dir and host id for one test file. */
export async function cliSandbox(): Promise<CliSandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'cellos-cli-'));
  const stateDir = join(dir, 'state');
  const hostId = `cli${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const env: Env = {
    ...process.env,
    CELLOS_DEFAULT_ROOTFS: defaultRootfs(),
    CELLOS_STATE_DIR: stateDir,
    CELLOS_HOST_ID: hostId,
    TEMPORAL_ADDRESS: undefined,
    TEMPORAL_NAMESPACE: undefined,
    CELLOS_TASK_QUEUE: undefined,
    CELLOS_DEBUG: undefined,
  };
  return {
    dir,
    stateDir,
    hostId,
    env,
    async doc(name, doc) {
      const path = join(dir, name);
      await writeFile(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return path;
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
      // The cgroup parents of this file's hosts (hostId and hostId-<suffix>), empty once their cells are gone.
      for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
        const parent = join('/sys/fs/cgroup', controller, 'cellos');
        for (const name of await readdir(parent).catch(() => [] as string[])) {
          if (name === hostId || name.startsWith(`${hostId}-`)) await rmdir(join(parent, name)).catch(() => undefined);
        }
      }
    },
  };
}

/** A valid `/bin/sh -c script` document (the shared builder's) whose id starts with `cli`. */
export function cliDocument(script: string, opts: Omit<DocumentOptions, 'prefix'> = {}): RawCellDocument {
  return shDocument(script, { ...opts, prefix: 'cli' });
}

/** Whether the text holds a JavaScript stack trace (the CLI must never print one without CELLOS_DEBUG=1). */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+[(:]\d+/.test(text) || text.includes('node:internal');
}

/** What useCliTestBed makes for a file of CLI tests. */
export interface CliTestBed {
  readonly box: CliSandbox;
  readonly bed: TemporalTestBed;
  /** The sandbox's environment pointed at the test run's server and the bed's task queue. */
  readonly env: Env;
}

/**
 * For a file of CLI tests against the test run's server: dist/ built, a CLI sandbox and a test bed
 * (a worker in this process on its own task queue) made before them and handed to `ready`, checked
 * for leftovers after each test, and closed after all of them.
 */
export function useCliTestBed(ready: (made: CliTestBed) => void): void {
  let box: CliSandbox | undefined;
  let bed: TemporalTestBed | undefined;
  beforeAll(async () => {
    await buildDist();
    box = await cliSandbox();
    bed = await startTestBed();
    ready({
      box,
      bed,
      env: { ...box.env, TEMPORAL_ADDRESS: inject('temporalAddress'), CELLOS_TASK_QUEUE: bed.taskQueue },
    });
  });
  afterEach(async () => {
    if (bed) await expectNoLeftovers(bed.host);
  });
  afterAll(async () => {
    await bed?.close();
    await box?.cleanup();
  });
}
