// The commands about hosts: `cellos hosts` and `cellos drain`.
import { command, type CommandEntry } from '../command.ts';
import { idArg, stringFlag } from '../flags.ts';
import { TALKS_TO } from '../help.ts';

export const hostCommands: Record<string, CommandEntry> = {
  hosts: command({
    summary: 'the hosts of the cluster: labels, state (ready, draining), cells running, memory, last seen',
    usage: 'cellos hosts [--json]',
    details: [
      '--json          print the hosts as JSON',
      '',
      'Hosts are the workers polling the task queue (CELLOS_TASK_QUEUE) now or in the last minutes; each',
      'answers for itself through its control queue. CELLS is running/most, MOST the most at once since',
      'its worker started.',
      TALKS_TO,
    ],
    options: { json: { type: 'boolean' } },
    positionals: [],
    normalize: (v) => ({ json: v.json === true }),
    load: async () => (await import('../commands/hosts.ts')).hosts,
  }),
  drain: command({
    summary: 'stop giving a host new cells (its running cells finish there); --undo resumes it',
    usage: 'cellos drain <host-id> [--undo] [--reason R]',
    details: [
      '--undo          take new cells again',
      '--reason R      why, shown by cellos hosts (default: drained by cellos drain)',
      '',
      'The host keeps draining across worker restarts until undone. A cell waiting for a host goes to',
      'another host with room and the labels it asks for, or waits until one has.',
      TALKS_TO,
    ],
    options: { undo: { type: 'boolean' }, reason: { type: 'string' } },
    positionals: ['host-id'],
    normalize: (v, [hostId]) => ({
      hostId: idArg('host id', hostId!),
      undo: v.undo === true,
      reason: stringFlag('--reason', v.reason),
    }),
    load: async () => (await import('../commands/hosts.ts')).drain,
  }),
};
