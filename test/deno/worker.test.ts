// The worker under Deno, started with deno.json's `worker` task flags, running cells for three
// clients: Node (`node bin/cellos.js`), Deno with the `cellos` task flags, and a CellClient in this
// test process. Also: a command without a permission it needs exits 1 at once, naming the flag.
//
// This file runs with the narrow flags of the `test:worker` task (see deno.json): it needs no
// --allow-all itself, only the right to start the dev server, the worker, node, runsc and findmnt.
import { CellClient } from '../../src/client/index.ts';
import type { CellResult } from '../../src/contract/index.ts';
import { connectClient } from '../../src/worker/connection.ts';
import { startTestDevServer, type TestDevServer } from '../helpers/dev-server.ts';
import { shDocument, type RawCellDocument } from '../helpers/documents.ts';
import { freePorts } from '../helpers/ports.ts';
import {
  assert,
  rootfs,
  runProgram,
  startWorkerProcess,
  stopWorkerProcess,
  taskFlags,
  type WorkerProcess,
  waitForOutput,
} from './processes.ts';

const taskQueue = `deno-worker-${Deno.pid}`;
const hostId = `denow${Deno.pid}`;

const deno = (flags: string[], args: string[], env: Record<string, string>, input?: string) =>
  runProgram(Deno.execPath(), ['run', ...flags, 'src/cli/main.ts', ...args], { env, input });

const json = (doc: RawCellDocument) => JSON.stringify(doc);

// --- the shared set-up: a dev server and a Deno worker ------------------------------------------------

interface WorkerUnderTest extends WorkerProcess {
  readonly stateDir: string;
}

let server: TestDevServer | undefined;
let serverDir: string | undefined;
let worker: WorkerUnderTest | undefined;
let client: CellClient | undefined;
let closeClient: () => Promise<void> = async () => undefined;

function clientEnv(): Record<string, string> {
  return { TEMPORAL_ADDRESS: server!.address, CELLOS_TASK_QUEUE: taskQueue };
}

let metricsAddress = '';

async function startWorker(address: string): Promise<WorkerUnderTest> {
  const stateDir = await Deno.makeTempDir({ prefix: 'cellos-denow-' });
  metricsAddress = `127.0.0.1:${(await freePorts(1))[0]}`;
  const w = await startWorkerProcess('deno', {
    CELLOS_METRICS_ADDRESS: metricsAddress,
    TEMPORAL_ADDRESS: address,
    CELLOS_TASK_QUEUE: taskQueue,
    CELLOS_HOST_ID: hostId,
    CELLOS_STATE_DIR: stateDir,
    CELLOS_DEFAULT_ROOTFS: rootfs,
    CELLOS_MAX_CELLS: '4',
    // One warm sandbox: the first cell runs in it (runsc exec), the others boot their own (runsc run).
    CELLOS_WARM_POOL_SIZE: '1',
  });
  return { ...w, stateDir };
}

/** SIGTERM, its exit; then nothing of it may be left: no sandbox in its runsc root, no mount in its folder. */
async function stopWorker(w: WorkerUnderTest): Promise<void> {
  const status = await stopWorkerProcess(w);
  try {
    assert(status.code === 0, `the worker exited ${status.code} (signal ${status.signal}):\n${w.log().slice(-3000)}`);
    const sandboxes = await runProgram('runsc', ['--root', `${w.stateDir}/runsc`, 'list', '-quiet'], { env: {} });
    assert(
      sandboxes.code === 0 && sandboxes.stdout.trim() === '',
      `sandboxes left: ${sandboxes.stdout}${sandboxes.stderr}`,
    );
    const mounts = await runProgram('findmnt', ['-rn', '-o', 'TARGET'], { env: {} });
    const left = mounts.stdout.split('\n').filter((m) => m.startsWith(w.stateDir));
    assert(left.length === 0, `mounts left: ${left.join(', ')}`);
  } finally {
    await Deno.remove(w.stateDir, { recursive: true });
  }
}

Deno.test.beforeAll(async () => {
  serverDir = await Deno.makeTempDir({ prefix: 'cellos-denow-temporal-' });
  server = await startTestDevServer(serverDir, { headless: true });
  worker = await startWorker(server.address);
  const connection = await connectClient({
    address: server.address,
    namespace: 'default',
    apiKey: undefined,
    tls: false,
  });
  closeClient = () => connection.close();
  client = new CellClient({ connection, taskQueue });
});

Deno.test.afterAll(async () => {
  try {
    await closeClient();
    if (worker) await stopWorker(worker);
  } finally {
    await server?.stop();
    if (serverDir) await Deno.remove(serverDir, { recursive: true });
  }
});

// Child processes and the client's connection live across tests (set up once above).
const shared = { sanitizeOps: false, sanitizeResources: false };

// --- cells from three clients ---------------------------------------------------------------------------

Deno.test({
  name: 'a cell started by the Node client runs on the Deno worker and the command exits with its code and output',
  ...shared,
  async fn() {
    const doc = shDocument('echo from-node; echo to-stderr >&2; exit 7', { prefix: 'denow-node', ttlSeconds: 30 });
    const exit = await runProgram('node', ['bin/cellos.js', 'run', '-'], { env: clientEnv(), input: json(doc) });
    assert(exit.code === 7, `exit ${exit.code}:\n${exit.stderr}`);
    assert(exit.stdout === 'from-node\n', `stdout ${JSON.stringify(exit.stdout)}`);
    assert(exit.stderr.includes('to-stderr\n'), `stderr ${exit.stderr}`);
    assert(exit.stderr.includes(`(host ${hostId})`), `not run by the Deno worker:\n${exit.stderr}`);
  },
});

Deno.test({
  name: 'a cell started by the cellos task under Deno (the client permissions) runs with its exit code',
  ...shared,
  async fn() {
    const doc = shDocument('echo from-deno-cli; exit 5', { prefix: 'denow-task', ttlSeconds: 30 });
    const exit = await deno(taskFlags('cellos'), ['run', '-'], clientEnv(), json(doc));
    assert(exit.code === 5, `exit ${exit.code}:\n${exit.stderr}`);
    assert(exit.stdout === 'from-deno-cli\n', `stdout ${JSON.stringify(exit.stdout)}`);
  },
});

Deno.test({
  name: 'a cell started by a CellClient under Deno runs on the Deno worker: its result, then its logs',
  ...shared,
  async fn() {
    const doc = shDocument('echo out-line; echo err-line >&2; exit 3', { prefix: 'denow-client', ttlSeconds: 30 });
    const result: CellResult = await client!.run(doc);
    assert(result.outcome.kind === 'exited' && result.outcome.code === 3, `outcome ${JSON.stringify(result.outcome)}`);
    assert(result.hostId === hostId, `host ${result.hostId}`);
    assert(
      result.stdout.tail === 'out-line\n' && result.stderr.tail === 'err-line\n',
      `output ${JSON.stringify(result)}`,
    );
    const chunks: string[] = [];
    for await (const c of client!.logs(doc.spec.id)) chunks.push(`${c.stream}:${c.text}`);
    assert(chunks.join('') === 'stdout:out-line\nstderr:err-line\n', `logs ${JSON.stringify(chunks)}`);
  },
});

// --- deadline and kill ---------------------------------------------------------------------------------

// Runs until killed; 1 s of grace bounds the kill should SIGTERM not end it.
const sleeper = (prefix: string, ttlSeconds: number) =>
  shDocument('echo ready; exec sleep 60', { prefix, ttlSeconds, run: { limits: { gracefulShutdownSeconds: 1 } } });

Deno.test({
  name: 'the Deno worker kills a cell at its deadline, and the Node client exits 124',
  ...shared,
  async fn() {
    const exit = await runProgram('node', ['bin/cellos.js', 'run', '-'], {
      env: clientEnv(),
      input: json(sleeper('denow-deadline', 2)),
    });
    assert(exit.code === 124, `exit ${exit.code}:\n${exit.stderr}`);
    assert(exit.stdout === 'ready\n', `stdout ${JSON.stringify(exit.stdout)}`);
    // 2 s to live, 1 s of grace, the rest is start-up and clean-up.
    assert(exit.ms < 15_000, `took ${Math.round(exit.ms)} ms`);
  },
});

Deno.test({
  name: 'a kill signalled by a CellClient under Deno ends a running cell as killed',
  ...shared,
  async fn() {
    const doc = sleeper('denow-kill', 60);
    const run = await client!.start(doc);
    await waitForOutput(client!, doc.spec.id, 'ready\n', 20_000);
    const asked = performance.now();
    await client!.kill(doc.spec.id, 'deno test');
    const result = await run.result();
    assert(result.outcome.kind === 'killed', `outcome ${JSON.stringify(result.outcome)}`);
    assert(performance.now() - asked < 10_000, `the kill took ${Math.round(performance.now() - asked)} ms`);
  },
});

Deno.test({
  name: 'a kill sent by the Node client (cellos kill) ends a cell the Deno client started; cellos logs shows its output',
  ...shared,
  async fn() {
    const doc = sleeper('denow-nodekill', 60);
    const run = await client!.start(doc);
    await waitForOutput(client!, doc.spec.id, 'ready\n', 20_000);
    const logs = await runProgram('node', ['bin/cellos.js', 'logs', doc.spec.id], { env: clientEnv() });
    assert(logs.code === 0 && logs.stdout === 'ready\n', `logs exit ${logs.code}: ${logs.stdout}${logs.stderr}`);
    const kill = await runProgram('node', ['bin/cellos.js', 'kill', doc.spec.id], { env: clientEnv() });
    assert(kill.code === 0, `kill exit ${kill.code}: ${kill.stderr}`);
    const result = await run.result();
    assert(result.outcome.kind === 'killed', `outcome ${JSON.stringify(result.outcome)}`);
  },
});

// --- metrics and logs, as under Node -------------------------------------------------------------------

Deno.test({
  name: 'the Deno worker serves its cell metrics and writes JSON log lines with the cell id, as under Node',
  ...shared,
  async fn() {
    const doc = shDocument('exit 4', { prefix: 'denow-metrics', ttlSeconds: 30 });
    const result = await client!.run(doc);
    assert(result.outcome.kind === 'exited' && result.outcome.code === 4, `outcome ${JSON.stringify(result.outcome)}`);
    // Every cell of this file so far ran here: at least this one is counted, with its outcome.
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    const value = (name: string, labels: string) =>
      Number(new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    assert(value('cellos_cells_started', `host="${hostId}"`) >= 1, `no cellos_cells_started:\n${text.slice(0, 2000)}`);
    assert(value('cellos_cells_finished', 'outcome="exited"') >= 1, 'no cellos_cells_finished{outcome="exited"}');
    assert(/^temporal_worker_task_slots_available\{/m.test(text), 'no Temporal worker metrics beside ours');
    // stderr is no terminal: one JSON object per line, this cell's lines carrying its id and the host
    // (read as the worker writes them: the last may come a moment after the result).
    const mine = () =>
      worker!
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; cellId?: string; hostId?: string })
        .filter((l) => l.cellId === doc.spec.id);
    for (const until = Date.now() + 10_000; !mine().some((l) => l.msg === 'sandbox exited') && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert(
      mine().some((l) => l.msg === 'sandbox exited'),
      `no JSON "sandbox exited" line of ${doc.spec.id}:\n${worker!.log().slice(-2000)}`,
    );
    assert(
      mine().every((l) => typeof l.msg === 'string' && l.hostId === hostId),
      `log lines: ${JSON.stringify(mine())}`,
    );
  },
});

// --- missing permissions ------------------------------------------------------------------------------

const GRANULAR = [
  '--allow-read',
  '--allow-write',
  '--allow-net',
  '--allow-env',
  '--allow-run',
  '--allow-ffi',
  '--allow-sys',
];

Deno.test({
  name: 'a worker started with every permission but --allow-all exits 1 at once with one line naming --allow-all',
  ...shared,
  async fn() {
    const flags = [...taskFlags('worker').filter((f) => f !== '--allow-all' && f !== '-A'), ...GRANULAR];
    const stateDir = await Deno.makeTempDir({ prefix: 'cellos-denow-noall-' });
    try {
      const exit = await deno(flags, ['worker'], {
        TEMPORAL_ADDRESS: server!.address,
        CELLOS_TASK_QUEUE: `${taskQueue}-noall`,
        CELLOS_STATE_DIR: stateDir,
        CELLOS_DEFAULT_ROOTFS: rootfs,
      });
      assert(exit.code === 1, `exit ${exit.code}:\n${exit.stderr}`);
      const lines = exit.stderr.trimEnd().split('\n');
      assert(lines.length === 1 && lines[0]!.startsWith('cellos worker: '), `stderr:\n${exit.stderr}`);
      assert(lines[0]!.includes('--allow-all') && lines[0]!.includes('/proc'), `stderr:\n${exit.stderr}`);
      assert(exit.ms < 10_000, `took ${Math.round(exit.ms)} ms`);
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

for (const [flag, says] of [
  ['--allow-read', 'read access to "'],
  ['--allow-env', 'env access to "'],
  ['--allow-net', 'net access to "127.0.0.1:'],
  ['--allow-sys', 'sys access to "hostname"'],
] as const) {
  Deno.test({
    name: `a client command without ${flag} exits 1 at once with one line naming ${flag}`,
    ...shared,
    async fn() {
      const flags = taskFlags('cellos').filter((f) => f !== flag && !f.startsWith(`${flag}=`));
      assert(flags.length === taskFlags('cellos').length - 1, `the cellos task has no ${flag}`);
      // A document from a file: reading it is the first thing `run` does.
      const exit = await deno(flags, ['run', 'examples/hello.json'], clientEnv());
      assert(exit.code === 1, `exit ${exit.code}:\n${exit.stderr}`);
      const lines = exit.stderr.trimEnd().split('\n');
      assert(lines.length === 1 && lines[0]!.startsWith('cellos run: '), `stderr:\n${exit.stderr}`);
      assert(lines[0]!.includes(says) && lines[0]!.includes(flag), `stderr:\n${exit.stderr}`);
      assert(exit.ms < 10_000, `took ${Math.round(exit.ms)} ms`);
    },
  });
}
