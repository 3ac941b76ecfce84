// Every command of `cellos`, in the order the overview lists them, and finding the one a command
// line names. The declarations are in ./table/, one file per group; the handlers in ./commands/.
import { isGroup, type CommandEntry } from './command.ts';
import { usageError } from './exit.ts';
import { cellCommands } from './table/cells.ts';
import { hostCommands } from './table/hosts.ts';
import { localCommands } from './table/local.ts';
import { runCommands } from './table/run.ts';
import { schedule } from './table/schedule.ts';

export const commands: Readonly<Record<string, CommandEntry>> = {
  ...localCommands,
  ...runCommands,
  ...cellCommands,
  ...hostCommands,
  schedule,
};

/**
 * The command `words` name (a command, or a group and one of its subcommands): its full name, its
 * declaration (undefined for an unknown command), and the words after it. A group followed by no
 * subcommand (or by a flag) is found as the group; an unknown subcommand is a usage error.
 */
export function findCommand(words: readonly string[]): {
  name: string;
  found: CommandEntry | undefined;
  rest: readonly string[];
} {
  const [name = '', ...rest] = words;
  const c = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!c || !isGroup(c)) return { name, found: c, rest };
  const [sub, ...subRest] = rest;
  if (sub === undefined || sub.startsWith('-')) return { name, found: c, rest };
  const found = Object.hasOwn(c.subcommands, sub) ? c.subcommands[sub] : undefined;
  if (!found) {
    throw usageError(
      `unknown ${name} subcommand ${JSON.stringify(sub)} (subcommands: ${Object.keys(c.subcommands).join(', ')})`,
    );
  }
  return { name: `${name} ${sub}`, found, rest: subRest };
}
