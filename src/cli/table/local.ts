// The commands about this host: `cellos bundle` and `cellos exec` (without Temporal), `cellos schema`
// (the workflow contract), and `cellos doctor` (whether this host can run cells, Temporal included).
import { command, type CommandEntry } from '../command.ts';
import { usageError } from '../exit.ts';
import { stringFlag } from '../flags.ts';
import { DOCUMENT_ARG } from '../help.ts';
import { SCHEMA_NAMES, schemaFile, type SchemaName } from '../../contract/schema-names.ts';

export const localCommands: Record<string, CommandEntry> = {
  bundle: command({
    summary: 'write the OCI bundle config.json a host would use for a document',
    usage: 'cellos bundle <file|-> --out DIR [--run-key K]',
    details: [
      DOCUMENT_ARG,
      '--out DIR       folder for config.json (mode 0600: it may hold secrets); created if missing',
      '--run-key K     run key for the sandbox id (random by default, as for a real run)',
      '',
      'The rootfs is spec.run.rootfs.path, else CELLOS_DEFAULT_ROOTFS; the cgroup path is the one this host uses.',
    ],
    options: { out: { type: 'string' }, 'run-key': { type: 'string' } },
    positionals: ['file'],
    normalize: (v, [file]) => {
      if (typeof v.out !== 'string' || v.out === '') throw usageError('--out DIR is required');
      if (v['run-key'] === '') throw usageError('--run-key must not be empty');
      return { file: file!, outDir: v.out, runKey: v['run-key'] as string | undefined };
    },
    load: async () => (await import('../commands/bundle.ts')).bundle,
  }),
  exec: command({
    summary: 'run one cell directly on this host (no Temporal) and exit with its code',
    usage: 'cellos exec <file|-> [--json]',
    details: [
      DOCUMENT_ARG,
      '--json          print the cell exit (outcome, output tails, times) as JSON instead of its output',
      '',
      'Prints the captured stdout and stderr when the cell ends. Ctrl-C kills the cell and cleans up.',
      'Host settings come from the environment (CELLOS_STATE_DIR, CELLOS_DEFAULT_ROOTFS, CELLOS_RUNSC, ...).',
    ],
    options: { json: { type: 'boolean' } },
    positionals: ['file'],
    normalize: (v, [file]) => ({ file: file!, json: v.json === true }),
    load: async () => (await import('../commands/exec.ts')).exec,
  }),
  schema: command({
    summary: 'print the workflow contract as JSON Schema, for clients in any language',
    usage: `cellos schema <${SCHEMA_NAMES.join('|')}>`,
    details: [
      ...SCHEMA_NAMES.map((n) => `${n.padEnd(15)} ${schemaFile(n)}`),
      '',
      'document: a CellOS ExecutionCell document; input: what cellWorkflow takes ({"document": ...}, or the',
      'document itself); result: what it returns; status: the answer of its status query; kill: the payload of',
      'its kill signal; contract: the workflow type, task queue, signals, queries, failure types and search',
      'attributes. The package ships the same files in schemas/.',
    ],
    options: {},
    positionals: ['name'],
    normalize: (_v, [name]) => {
      if (!(SCHEMA_NAMES as readonly string[]).includes(name!)) {
        throw usageError(`unknown schema ${JSON.stringify(name)} (one of: ${SCHEMA_NAMES.join(', ')})`);
      }
      return { name: name as SchemaName };
    },
    load: async () => (await import('../commands/schema.ts')).schema,
  }),
  doctor: command({
    summary: 'check that this host can run cells, and say what to fix',
    usage: 'cellos doctor [--json] [--task-queue Q] [--host-id H]',
    details: [
      '--json          print the checks as a JSON array of {name, status, detail, fix}',
      '--task-queue Q  shared task queue, as for `cellos worker` (CELLOS_TASK_QUEUE, default cellos)',
      '--host-id H     this host, as for `cellos worker` (CELLOS_HOST_ID, default from /etc/machine-id)',
      '',
      'Reads the settings `cellos worker` reads (README, "Configuration (worker)") and checks them on this host:',
      'runsc (CELLOS_RUNSC) and its platform (CELLOS_PLATFORM: a sandbox boots, without network), cgroups (a probe',
      'cgroup takes a memory limit), the default rootfs (CELLOS_DEFAULT_ROOTFS), the state, bundle and image cache',
      'folders (exist or can be created, owned by root, not writable by others), the Temporal server',
      '(TEMPORAL_ADDRESS, or the local dev server; 5 s at most), the cell search attributes of TEMPORAL_NAMESPACE,',
      "and whether a worker polls this host's queue <task queue>@<host id> (a warning if none does).",
      'One line per check: ok, warn, FAIL or skip, its name and what it found; a fix: line under each problem.',
      'Exits 0 when no check failed (warnings allowed), 1 otherwise. Runs as root, as the worker does.',
    ],
    options: { json: { type: 'boolean' }, 'task-queue': { type: 'string' }, 'host-id': { type: 'string' } },
    positionals: [],
    normalize: (v) => ({
      json: v.json === true,
      taskQueue: stringFlag('--task-queue', v['task-queue']),
      hostId: stringFlag('--host-id', v['host-id']),
    }),
    load: async () => (await import('../commands/doctor.ts')).doctor,
  }),
};
