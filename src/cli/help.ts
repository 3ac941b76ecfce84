// The help of `cellos`: the overview of every command, a group's subcommands, one command's usage
// and details; and the lines several commands' help shares. Pure.
import { isGroup, type Command, type CommandEntry, type CommandGroup } from './command.ts';

/** The document argument of the commands that take one. */
export const DOCUMENT_ARG = '<file|->        the ExecutionCell document (JSON); - reads it from stdin';

/** The cell argument of the commands that find a cell's latest run. */
export const CELL_REF_ARG =
  '<cell-id>       a cell id (its latest run, also one a schedule started) or the workflow id of one run';

/** The last line of the help of the commands that only talk to a server. */
export const TALKS_TO = 'Talks to TEMPORAL_ADDRESS, or to 127.0.0.1:7233.';

/** `cellos` alone or with --help: what it is, its commands, its exit codes. */
export function overview(commands: Readonly<Record<string, CommandEntry>>): string {
  return [
    'cellos: run CellOS ExecutionCell documents in gVisor sandboxes, with a durable lifecycle on Temporal',
    '',
    'usage: cellos <command> [options]    (cellos <command> --help for its options)',
    '',
    ...summaries(commands),
    '',
    'Exit codes: 0 ok, 1 usage, 2 Temporal/infrastructure failure, 3 invalid or refused document;',
    "run/exec: the cell's own code, or 124 deadline, 125 out of memory, 130 killed, 69 lost, 128+n signal n.",
    'Set CELLOS_DEBUG=1 for stack traces.',
  ].join('\n');
}

/** `cellos <name> --help`, for a command or a group; `name` is the words that name it. */
export function help(name: string, c: CommandEntry): string {
  return isGroup(c) ? groupHelp(name, c) : commandHelp(name, c);
}

function groupHelp(name: string, g: CommandGroup): string {
  return [
    `cellos ${name}: ${g.summary}`,
    '',
    `usage: cellos ${name} <${Object.keys(g.subcommands).join('|')}> [options]    (cellos ${name} <subcommand> --help for its options)`,
    '',
    ...summaries(g.subcommands),
  ].join('\n');
}

function commandHelp(name: string, c: Command<unknown>): string {
  return [
    `cellos ${name}: ${c.summary}`,
    '',
    `usage: ${c.usage}`,
    '',
    ...c.details.map((l) => (l ? `  ${l}` : '')),
  ].join('\n');
}

/** One line per command: its name, padded, and its summary. */
function summaries(commands: Readonly<Record<string, CommandEntry>>): string[] {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
}
