// Mixed fleets: Node and Deno workers of one host (same host id, same state folder) take over each
// other's cells. A worker SIGKILLed while its cell runs is replaced by one of the other runtime, which
// re-attaches the running sandbox and ends the cell with its true outcome; nothing is left behind.
// Runs under test:allow-all: the leftover check reads /proc.
import { CellClient } from '../../src/client/index.ts';
import { connectClient } from '../../src/worker/connection.ts';
import { startTestDevServer, type TestDevServer } from '../helpers/dev-server.ts';
import { shDocument } from '../helpers/documents.ts';
import {
  assert,
  leftoversOf,
  rootfs,
  startWorkerProcess,
  stopWorkerProcess,
  type Runtime,
  type WorkerProcess,
  waitForOutput,
} from './processes.ts';

let server: TestDevServer | undefined;
let serverDir: string | undefined;
let connection: Awaited<ReturnType<typeof connectClient>> | undefined;
let closeClient: () => Promise<void> = async () => undefined;

Deno.test.beforeAll(async () => {
  serverDir = await Deno.makeTempDir({ prefix: 'cellos-mixed-temporal-' });
  server = await startTestDevServer(serverDir, { headless: true });
  const c = await connectClient({ address: server.address, namespace: 'default', apiKey: undefined, tls: false });
  connection = c;
  closeClient = () => c.close();
});

Deno.test.afterAll(async () => {
  try {
    await closeClient();
  } finally {
    await server?.stop();
    if (serverDir) await Deno.remove(serverDir, { recursive: true });
  }
});

for (const [first, second] of [
  ['deno', 'node'],
  ['node', 'deno'],
] as const satisfies readonly (readonly [Runtime, Runtime])[]) {
  Deno.test({
    name: `a ${first} worker SIGKILLed mid-cell: a ${second} worker with its host id and state folder re-attaches the cell, which ends with its true outcome, and nothing is left`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const taskQueue = `mixed-${first}-${Deno.pid}`;
      const stateDir = await Deno.makeTempDir({ prefix: `cellos-mixed-${first}-` });
      const env = {
        TEMPORAL_ADDRESS: server!.address,
        CELLOS_TASK_QUEUE: taskQueue,
        CELLOS_HOST_ID: `mixed${first}${Deno.pid}`,
        CELLOS_STATE_DIR: stateDir,
        CELLOS_DEFAULT_ROOTFS: rootfs,
      };
      const client = new CellClient({ connection: connection!, taskQueue });
      const workers: WorkerProcess[] = [];
      try {
        const a = await startWorkerProcess(first, env);
        workers.push(a);
        // Prints, outlives the first worker by a few seconds, then exits with a code of its own.
        const doc = shDocument('echo started; sleep 4; echo finished; exit 9', {
          prefix: `mixed-${first}`,
          ttlSeconds: 120,
        });
        const run = await client.start(doc);
        await waitForOutput(client, doc.spec.id, 'started\n', 30_000);
        const killedAt = Date.now();
        a.child.kill('SIGKILL');
        await a.child.status;

        const b = await startWorkerProcess(second, env);
        workers.push(b);
        const result = await run.result();
        assert(
          result.outcome.kind === 'exited' && result.outcome.code === 9,
          `outcome ${JSON.stringify(result.outcome)}\n${first} worker:\n${a.log().slice(-2000)}\n${second} worker:\n${b.log().slice(-2000)}`,
        );
        assert(result.stdout.tail === 'started\nfinished\n', `stdout ${JSON.stringify(result.stdout.tail)}`);
        assert(result.hostId === env.CELLOS_HOST_ID, `host ${result.hostId}`);
        // It ran once: the sandbox that ended is the one the first worker started before it died.
        const sandboxStart = Date.parse(result.sandboxStartedAt ?? '');
        assert(sandboxStart < killedAt, `the sandbox started at ${result.sandboxStartedAt}, after the kill`);

        const status = await stopWorkerProcess(b);
        assert(status.code === 0, `the ${second} worker exited ${status.code}:\n${b.log().slice(-3000)}`);
        const left = await leftoversOf(stateDir);
        assert(left.length === 0, `left behind:\n${left.join('\n')}`);
      } finally {
        for (const w of workers) {
          try {
            w.child.kill('SIGKILL');
          } catch {
            // already gone
          }
        }
        await Deno.remove(stateDir, { recursive: true }).catch(() => undefined);
      }
    },
  });
}
