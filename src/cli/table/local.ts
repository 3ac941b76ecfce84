// The commands that run on this host alone, without Temporal: `cellos bundle` and `cellos exec`.
import { command, type CommandEntry } from '../command.ts';
import { usageError } from '../exit.ts';
import { DOCUMENT_ARG } from '../help.ts';

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
};
