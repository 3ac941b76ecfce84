// Running cells through Temporal: `cellos run`, and the workers that run them (`worker`, `dev`).
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
};
