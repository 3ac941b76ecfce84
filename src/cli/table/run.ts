// Running cells through Temporal: `cellos run`, the workers that run them (`worker`, `dev`), and the
// codec endpoint that lets the UI read encrypted payloads (`codec-server`).
import { command, type CommandEntry } from '../command.ts';
import { usageError } from '../exit.ts';
import { intFlag } from '../flags.ts';
import { DOCUMENT_ARG } from '../help.ts';

export const runCommands: Record<string, CommandEntry> = {
  run: command({
    summary: 'run a cell through Temporal and exit with its code',
    usage: 'cellos run <file|-> [--json] [--no-wait]',
    details: [
      DOCUMENT_ARG,
      '--json          print the CellResult as JSON (stdout holds nothing else)',
      '--no-wait       start the cell, print its workflow id and run id, and return',
      '',
      'With TEMPORAL_ADDRESS set, a worker must run elsewhere (`cellos worker`). Without it, a local Temporal',
      'dev server is started (or reused) on 127.0.0.1:7233 (CELLOS_DEV_PORT) with its UI on 8233',
      '(CELLOS_DEV_UI_PORT), and a worker runs inside this command while it waits.',
      'Phases go to stderr; the cell output to stdout and stderr; a summary line last.',
    ],
    options: { json: { type: 'boolean' }, 'no-wait': { type: 'boolean' } },
    positionals: ['file'],
    normalize: (v, [file]) => ({ file: file!, json: v.json === true, wait: v['no-wait'] !== true }),
    load: async () => (await import('../commands/run.ts')).run,
  }),
  worker: command({
    summary: "run this host's worker until SIGINT/SIGTERM",
    usage: 'cellos worker [--task-queue Q] [--host-id H] [--max-cells N]',
    details: [
      '--task-queue Q  shared task queue (CELLOS_TASK_QUEUE, default cellos)',
      '--host-id H     this host (CELLOS_HOST_ID, default from /etc/machine-id)',
      '--max-cells N   cells this host runs at once (CELLOS_MAX_CELLS, default 16)',
      '',
      'Connects to TEMPORAL_ADDRESS, or to the local dev server on 127.0.0.1:7233 (started if not running).',
    ],
    options: { 'task-queue': { type: 'string' }, 'host-id': { type: 'string' }, 'max-cells': { type: 'string' } },
    positionals: [],
    normalize: (v) => {
      if (v['task-queue'] === '') throw usageError('--task-queue must not be empty');
      if (v['host-id'] === '') throw usageError('--host-id must not be empty');
      return {
        taskQueue: v['task-queue'] as string | undefined,
        hostId: v['host-id'] as string | undefined,
        maxCells: intFlag('--max-cells', v['max-cells'], 1, 1000),
      };
    },
    load: async () => (await import('../commands/worker.ts')).worker,
  }),
  dev: command({
    summary: 'a local Temporal dev server and a worker in the foreground',
    usage: 'cellos dev [--port 7233] [--ui-port 8233]',
    details: [
      '--port P        gRPC port of the server (CELLOS_DEV_PORT, default 7233)',
      '--ui-port P     port of its web UI (CELLOS_DEV_UI_PORT, default 8233)',
      '',
      'Data is kept in <project>/.state/temporal (CELLOS_DEV_STATE_DIR). Ctrl-C stops the worker, then the server.',
    ],
    options: { port: { type: 'string' }, 'ui-port': { type: 'string' } },
    positionals: [],
    normalize: (v) => ({
      port: intFlag('--port', v.port, 1, 65535),
      uiPort: intFlag('--ui-port', v['ui-port'], 1, 65535),
    }),
    load: async () => (await import('../commands/dev.ts')).dev,
  }),
  'codec-server': command({
    summary: 'decrypt payloads for the Temporal UI and CLI (CELLOS_PAYLOAD_KEYS)',
    usage: 'cellos codec-server [--listen HOST:PORT] [--ui-origin URL]...',
    details: [
      '--listen A      address to serve on (default 127.0.0.1:8081); a loopback address keeps the keys local',
      '--ui-origin U   origin of a UI that may call it (default http://localhost:8233 and http://127.0.0.1:8233)',
      '',
      "Serves POST /encode and /decode (Temporal's remote codec) with the keys in CELLOS_PAYLOAD_KEYS. Point the",
      'UI at it (dev server: --ui-codec-endpoint http://127.0.0.1:8081; UI server: TEMPORAL_CODEC_ENDPOINT) or the',
      'CLI (temporal workflow show --codec-endpoint http://127.0.0.1:8081). Ctrl-C stops it.',
    ],
    options: { listen: { type: 'string' }, 'ui-origin': { type: 'string', multiple: true } },
    positionals: [],
    normalize: (v) => {
      const listen = (v.listen as string | undefined) ?? '127.0.0.1:8081';
      const m = /^(.+):(\d+)$/.exec(listen);
      const port = m ? Number(m[2]) : NaN;
      if (!m || !(port >= 0 && port <= 65535)) throw usageError(`--listen ${listen} must be HOST:PORT`);
      const origins = (v['ui-origin'] as string[] | undefined) ?? ['http://localhost:8233', 'http://127.0.0.1:8233'];
      for (const o of origins) {
        if (!/^https?:\/\/[^/]+$/.test(o)) throw usageError(`--ui-origin ${o} must be an origin like http://host:8233`);
      }
      return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port, origins };
    },
    load: async () => (await import('../commands/codec-server.ts')).codecServer,
  }),
};
