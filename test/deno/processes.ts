// Processes of the Deno suite: programs run to their end, and workers (under Deno with the flags of
// deno.json's `worker` task, or under Node as bin/cellos.js) started in the background, stopped or
// SIGKILLed, and checked for what they leave behind; and a running cell's output, followed.
import type { CellClient } from '../../src/client/index.ts';

export const root = new URL('../../', import.meta.url).pathname;
export const rootfs = Deno.env.get('CELLOS_DEFAULT_ROOTFS') ?? `${root}.tools/rootfs/busybox`;

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** The permission flags of a deno.json task `deno run <flags> src/cli/main.ts ...`: the ones users get. */
export function taskFlags(name: 'worker' | 'cellos'): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`)) as {
    tasks: Record<string, { command: string }>;
  };
  const words = config.tasks[name]!.command.split(/\s+/);
  const from = words.indexOf('run');
  const to = words.indexOf('src/cli/main.ts');
  assert(
    from >= 0 && to > from,
    `deno.json task ${name} is not "deno run <flags> src/cli/main.ts ...": ${words.join(' ')}`,
  );
  return words.slice(from + 1, to);
}

export interface Exit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a program to its end with `input` on its stdin; a minute at most. */
export async function runProgram(
  program: string,
  args: string[],
  opts: { env: Record<string, string>; input?: string },
): Promise<Exit> {
  const started = performance.now();
  const child = new Deno.Command(program, {
    args,
    cwd: root,
    env: { PATH: Deno.env.get('PATH') ?? '/usr/bin:/bin', NO_COLOR: '1', ...opts.env },
    clearEnv: true,
    stdin: 'piped',
    stdout: 'piped',
    stderr: 'piped',
  }).spawn();
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(opts.input ?? ''));
  await writer.close();
  const out = await child.output();
  clearTimeout(timer);
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr), ms: performance.now() - started };
}

export type Runtime = 'deno' | 'node';

export interface WorkerProcess {
  readonly runtime: Runtime;
  readonly child: Deno.ChildProcess;
  /** Settles once its stderr is read to the end. */
  readonly reading: Promise<void>;
  log(): string;
}

/**
 * Starts `cellos worker` under Deno (the `worker` task's flags) or Node (bin/cellos.js, as installed),
 * with `env` as its whole environment beside PATH; resolves once it says it serves its host.
 */
export async function startWorkerProcess(runtime: Runtime, env: Record<string, string>): Promise<WorkerProcess> {
  const [program, args] =
    runtime === 'deno'
      ? [Deno.execPath(), ['run', ...taskFlags('worker'), 'src/cli/main.ts', 'worker']]
      : ['node', ['bin/cellos.js', 'worker']];
  const { child, reading, log } = spawnLogged(program, args, env);
  const w: WorkerProcess = { runtime, child, reading, log };
  const until = Date.now() + 60_000;
  let exited = false;
  void child.status.then(() => (exited = true));
  while (!/^cellos: worker for host /m.test(log())) {
    if (exited || Date.now() > until) throw new Error(`the ${runtime} worker did not start:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return w;
}

/** Starts a program in the background with `env` (beside PATH) as its environment, reading its stderr. */
export function spawnLogged(
  program: string,
  args: string[],
  env: Record<string, string>,
): { child: Deno.ChildProcess; reading: Promise<void>; log(): string } {
  const child = new Deno.Command(program, {
    args,
    cwd: root,
    env: { PATH: Deno.env.get('PATH') ?? '/usr/bin:/bin', ...env },
    clearEnv: true,
    stdin: 'null',
    stdout: 'null',
    stderr: 'piped',
  }).spawn();
  let log = '';
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  return { child, reading, log: () => log };
}

/** SIGTERM, then its exit (SIGKILL after 30 s); the exit status. */
export async function stopWorkerProcess(w: WorkerProcess): Promise<Deno.CommandStatus> {
  try {
    w.child.kill('SIGTERM');
  } catch {
    // already gone
  }
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 30_000);
  const status = await w.child.status;
  clearTimeout(timer);
  await w.reading;
  return status;
}

/** What a host with this state folder left behind: sandboxes in its runsc root, mounts, processes. */
export async function leftoversOf(stateDir: string): Promise<string[]> {
  const found: string[] = [];
  const sandboxes = await runProgram('runsc', ['--root', `${stateDir}/runsc`, 'list', '-quiet'], { env: {} });
  if (sandboxes.code !== 0) found.push(`runsc list failed: ${sandboxes.stderr}`);
  found.push(
    ...sandboxes.stdout
      .split('\n')
      .filter((s) => s !== '')
      .map((s) => `sandbox ${s}`),
  );
  const mounts = await runProgram('findmnt', ['-rn', '-o', 'TARGET'], { env: {} });
  found.push(
    ...mounts.stdout
      .split('\n')
      .filter((m) => m.startsWith(stateDir))
      .map((m) => `mount ${m}`),
  );
  for await (const entry of Deno.readDir('/proc')) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmd = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => '');
    if (cmd.includes(stateDir)) found.push(`process ${entry.name}: ${cmd.replace(/\0/g, ' ').slice(0, 120)}`);
  }
  return found;
}

/** Until the running cell's output (its run activity's heartbeat) shows `text`; `withinMs` at most. */
export async function waitForOutput(client: CellClient, cellId: string, text: string, withinMs: number): Promise<void> {
  let seen = '';
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), withinMs);
  try {
    for await (const c of client.logs(cellId, { follow: true, pollMs: 100, signal: abort.signal })) {
      if (c.stream === 'stdout') seen += c.text;
      if (seen.includes(text)) return;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`cell ${cellId} ended without printing ${JSON.stringify(text)} (it printed ${JSON.stringify(seen)})`);
}
