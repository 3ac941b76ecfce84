// `cellos run` without TEMPORAL_ADDRESS: the embedded default starts a local dev server that outlives
// the command, runs a worker inside the command, and the next run reuses the server. On ports of its
// own (CELLOS_DEV_PORT, CELLOS_DEV_UI_PORT) and a temp server folder, so that it clashes with nothing;
// the server it leaves running is stopped at the end through its pid file.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCellHost, type CellHost } from '../../src/host/cell-host.ts';
import { isListening } from '../../src/temporal/dev-server.ts';
import { DEV_SERVER_PID_FILE } from '../../src/worker/embedded.ts';
import { leftovers } from '../helpers/host.ts';
import { buildDist, cli, cliDocument, cliSandbox, startCli, type CliSandbox, type Env } from './cli-helpers.ts';

let box: CliSandbox;
let env: Env;
let port: number;
let uiPort: number;
let devStateDir: string;

beforeAll(async () => {
  await buildDist();
  box = await cliSandbox();
  devStateDir = join(box.dir, 'temporal');
  port = 20000 + Math.floor(Math.random() * 20000);
  uiPort = port + 1;
  env = {
    ...box.env,
    CELLOS_DEV_PORT: String(port),
    CELLOS_DEV_UI_PORT: String(uiPort),
    CELLOS_DEV_STATE_DIR: devStateDir,
  };
});

afterAll(async () => {
  const pidFile = join(devStateDir, DEV_SERVER_PID_FILE);
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    await stopProcess(pid);
  }
  await box?.cleanup();
});

it('starts a local dev server that outlives the command, and the next run reuses it', async () => {
  expect(await isListening('127.0.0.1', port)).toBe(false);
  const doc = cliDocument('echo embedded; exit 7');
  const file = await box.doc('embedded.json', doc);

  const first = await cli(['run', file], { env, timeoutMs: 90_000 });
  expect(first.stdout).toBe('embedded\n');
  expect(first.code).toBe(7);
  expect(first.stderr).toContain(`started a local Temporal dev server at 127.0.0.1:${port}`);
  expect(first.stderr).toMatch(
    new RegExp(`http://localhost:${uiPort}/namespaces/default/workflows/cell-${doc.spec.id}/[0-9a-f-]+/history`),
  );
  const pid = Number.parseInt(await readFile(join(devStateDir, DEV_SERVER_PID_FILE), 'utf8'), 10);
  expect(alive(pid)).toBe(true);
  expect(await isListening('127.0.0.1', port)).toBe(true);
  expect(existsSync(join(devStateDir, 'temporal.sqlite'))).toBe(true);

  const second = await cli(['run', file, '--json'], { env, timeoutMs: 60_000 });
  expect(second.code).toBe(7);
  expect(second.stderr).not.toContain('started a local Temporal dev server');
  expect(JSON.parse(second.stdout)).toMatchObject({ cellId: doc.spec.id, outcome: { kind: 'exited', code: 7 } });
  // Still the first server, the one in the pid file.
  expect(Number.parseInt(await readFile(join(devStateDir, DEV_SERVER_PID_FILE), 'utf8'), 10)).toBe(pid);

  // The worker inside the command took the cell's first workflow task eagerly, from the start
  // response: the history names the starter as its taker, not a host's poller.
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    const history = await new Client({ connection }).workflow.getHandle(`cell-${doc.spec.id}`).fetchHistory();
    const events = history.events ?? [];
    const starter = events.find(
      (e) => e.workflowExecutionStartedEventAttributes,
    )?.workflowExecutionStartedEventAttributes;
    const taken = events.find((e) => e.workflowTaskStartedEventAttributes)?.workflowTaskStartedEventAttributes;
    expect(taken?.identity).toBe(starter?.identity);
    expect(taken?.identity).not.toMatch(/^cellos-host /);
  } finally {
    await connection.close();
  }

  // status and kill fall back to the same local server.
  const status = await cli(['status', doc.spec.id], { env });
  expect(status.code).toBe(0);
  expect(status.stdout).toContain('exited 7');

  // The worker inside the commands left nothing on the host.
  const host: CellHost = await createCellHost({
    hostId: box.hostId,
    stateDir: box.stateDir,
    defaultRootfs: env.CELLOS_DEFAULT_ROOTFS,
  });
  expect(await leftovers(host)).toEqual([]);
});

/** Running, not a zombie (the detached server's parent exited; whoever adopted it may not reap it at once). */
it('cellos dev runs a server and a worker in the foreground, and Ctrl-C stops both with exit 0', async () => {
  const devPort = port + 2;
  const devEnv: Env = {
    ...box.env,
    CELLOS_DEV_STATE_DIR: join(box.dir, 'dev-temporal'),
    CELLOS_HOST_ID: `${box.hostId}-dev`,
  };
  const dev = startCli(['dev', '--port', String(devPort), '--ui-port', String(devPort + 1)], {
    env: devEnv,
    timeoutMs: 90_000,
  });
  try {
    const until = Date.now() + 60_000;
    while (!dev.stderrSoFar().includes('Ctrl-C stops the worker')) {
      if (Date.now() > until || dev.child.exitCode !== null)
        throw new Error(`cellos dev did not come up:\n${dev.stderrSoFar()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(dev.stderrSoFar()).toContain(`Temporal UI at http://localhost:${devPort + 1}`);
    const doc = cliDocument('echo via dev');
    const r = await cli(['run', await box.doc('dev.json', doc)], {
      env: { ...devEnv, TEMPORAL_ADDRESS: `127.0.0.1:${devPort}` },
    });
    expect(r.stdout).toBe('via dev\n');
    expect(r.code).toBe(0);
  } finally {
    dev.child.kill('SIGINT');
  }
  const d = await dev.done;
  expect(d.code).toBe(0);
  expect(d.stderr).toContain('stopping the worker, then the server');
  expect(await isListening('127.0.0.1', devPort)).toBe(false);
  const host = await createCellHost({
    hostId: `${box.hostId}-dev`,
    stateDir: box.stateDir,
    defaultRootfs: box.env.CELLOS_DEFAULT_ROOTFS,
  });
  expect(await leftovers(host)).toEqual([]);
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function stopProcess(pid: number): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
