// `cellos run` on the embedded default and `cellos dev`, under Deno (the `worker` task's flags: both
// run cells on this host): the local dev server started and reused, the worker inside the command,
// Ctrl-C stopping dev's worker and server. On ports and folders of their own; nothing left behind.
import { isListening } from '../../src/temporal/dev-server.ts';
import { DEV_SERVER_PID_FILE } from '../../src/worker/embedded.ts';
import { shDocument } from '../helpers/documents.ts';
import { freePorts } from '../helpers/ports.ts';
import { assert, leftoversOf, root, rootfs, runProgram, spawnLogged, taskFlags } from './processes.ts';

const shared = { sanitizeOps: false, sanitizeResources: false };

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  Deno.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) Deno.kill(pid, 'SIGKILL');
}

Deno.test({
  name: 'cellos run under Deno starts the local dev server, runs the cell in the command, and the next run reuses it',
  ...shared,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: 'cellos-deno-embedded-' });
    const [port, uiPort] = await freePorts(2);
    const env = {
      CELLOS_DEV_PORT: String(port),
      CELLOS_DEV_UI_PORT: String(uiPort),
      CELLOS_DEV_STATE_DIR: `${dir}/temporal`,
      CELLOS_STATE_DIR: `${dir}/host`,
      CELLOS_HOST_ID: `denoemb${Deno.pid}`,
      CELLOS_DEFAULT_ROOTFS: rootfs,
      TEMPORAL_CLI_PATH: Deno.env.get('TEMPORAL_CLI_PATH') ?? `${root}.tools/venv/bin/temporal`,
    };
    const run = (input: string, ...args: string[]) =>
      runProgram(Deno.execPath(), ['run', ...taskFlags('worker'), 'src/cli/main.ts', 'run', '-', ...args], {
        env,
        input,
      });
    try {
      const doc = JSON.stringify(shDocument('echo embedded-deno; exit 6', { prefix: 'denoemb', ttlSeconds: 30 }));
      const first = await run(doc);
      assert(
        first.code === 6 && first.stdout === 'embedded-deno\n',
        `exit ${first.code}: ${first.stdout}${first.stderr}`,
      );
      assert(
        first.stderr.includes(`started a local Temporal dev server at 127.0.0.1:${port}`),
        `stderr:\n${first.stderr}`,
      );
      const pid = Number.parseInt(await Deno.readTextFile(`${dir}/temporal/${DEV_SERVER_PID_FILE}`), 10);
      assert(alive(pid), `the dev server ${pid} is not running`);

      const second = await run(JSON.stringify(shDocument('exit 2', { prefix: 'denoemb', ttlSeconds: 30 })), '--json');
      assert(second.code === 2, `exit ${second.code}: ${second.stderr}`);
      assert(!second.stderr.includes('started a local Temporal dev server'), `a second server:\n${second.stderr}`);
      const result = JSON.parse(second.stdout) as { outcome: unknown; hostId: string };
      assert(JSON.stringify(result.outcome) === '{"kind":"exited","code":2}', `outcome ${second.stdout}`);
      assert(result.hostId === env.CELLOS_HOST_ID, `host ${result.hostId}`);
      const left = await leftoversOf(env.CELLOS_STATE_DIR);
      assert(left.length === 0, `left behind:\n${left.join('\n')}`);
      await stopPid(pid);
    } finally {
      const pidFile = `${dir}/temporal/${DEV_SERVER_PID_FILE}`;
      const pid = Number.parseInt(await Deno.readTextFile(pidFile).catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0) await stopPid(pid);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: 'cellos dev under Deno runs a server and a worker in the foreground; a cell runs on it; Ctrl-C stops both with exit 0',
  ...shared,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: 'cellos-deno-dev-' });
    const [port, uiPort] = await freePorts(2);
    const env = {
      CELLOS_DEV_STATE_DIR: `${dir}/temporal`,
      CELLOS_STATE_DIR: `${dir}/host`,
      CELLOS_HOST_ID: `denodev${Deno.pid}`,
      CELLOS_DEFAULT_ROOTFS: rootfs,
      TEMPORAL_CLI_PATH: Deno.env.get('TEMPORAL_CLI_PATH') ?? `${root}.tools/venv/bin/temporal`,
    };
    const {
      child: dev,
      reading,
      log,
    } = spawnLogged(
      Deno.execPath(),
      ['run', ...taskFlags('worker'), 'src/cli/main.ts', 'dev', '--port', String(port), '--ui-port', String(uiPort)],
      env,
    );
    try {
      for (const until = Date.now() + 60_000; !log().includes('Ctrl-C stops the worker');) {
        assert(Date.now() < until, `cellos dev did not come up:\n${log()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert(log().includes(`Temporal UI at http://localhost:${uiPort}`), `stderr:\n${log()}`);
      const doc = JSON.stringify(shDocument('echo via-deno-dev', { prefix: 'denodev', ttlSeconds: 30 }));
      const r = await runProgram('node', ['bin/cellos.js', 'run', '-'], {
        env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
        input: doc,
      });
      assert(r.code === 0 && r.stdout === 'via-deno-dev\n', `exit ${r.code}: ${r.stdout}${r.stderr}`);
      assert(r.stderr.includes(`(host ${env.CELLOS_HOST_ID})`), `not run by cellos dev:\n${r.stderr}`);
    } finally {
      dev.kill('SIGINT');
    }
    const status = await dev.status;
    await reading;
    try {
      assert(status.code === 0, `cellos dev exited ${status.code}:\n${log().slice(-3000)}`);
      assert(log().includes('stopping the worker, then the server'), `stderr:\n${log().slice(-3000)}`);
      assert(!(await isListening('127.0.0.1', port)), 'the dev server still listens');
      const left = await leftoversOf(env.CELLOS_STATE_DIR);
      assert(left.length === 0, `left behind:\n${left.join('\n')}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
