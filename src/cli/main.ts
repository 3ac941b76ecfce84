// The `cellos` command: finds the command a command line names (./command-table.ts), parses its
// flags (./flags.ts), lazily loads its handler, and turns what it returns or throws into an exit code
// (./exit.ts, ./errors.ts). The only place that calls process.exit.
//
// Node runs the compiled file through bin/cellos.js; Deno runs this file as it is, with the permissions
// of deno.json's tasks (docs/deno.md): `deno task worker`, `deno task cellos <command> ...`.
import { isGroup } from './command.ts';
import { commands, findCommand } from './command-table.ts';
import { toCliExit } from './errors.ts';
import { CliExit, EXIT, usageError } from './exit.ts';
import { parseCommandLine } from './flags.ts';
import { help, overview } from './help.ts';
import type { CliIo, StopSignal } from './io.ts';

/** Parses `argv` (without node and the script), runs the command, and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  let label = 'cellos';
  try {
    if (name === undefined) {
      io.stderr.write(`${overview(commands)}\n`);
      return EXIT.usage;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      if (rest.length === 0) {
        io.stdout.write(`${overview(commands)}\n`);
        return EXIT.ok;
      }
      const topic = findCommand(rest);
      if (!topic.found) throw usageError(`unknown command ${JSON.stringify(rest[0])}`);
      io.stdout.write(`${help(topic.name, topic.found)}\n`);
      return EXIT.ok;
    }
    label = `cellos ${name}`;
    const { name: full, found, rest: args } = findCommand(argv);
    if (!found) {
      throw usageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(commands).join(', ')})`);
    }
    label = `cellos ${full}`;
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout.write(`${help(full, found)}\n`);
      return EXIT.ok;
    }
    if (isGroup(found)) {
      const subs = Object.keys(found.subcommands).join(', ');
      throw usageError(
        args.length === 0
          ? `a subcommand is required: ${subs}`
          : `${JSON.stringify(args[0])} is not a subcommand: ${subs}`,
      );
    }
    const { values, positionals } = parseCommandLine(found, args);
    const opts = found.normalize(values, positionals);
    const handler = await found.load();
    return (await handler(opts, io)).exitCode;
  } catch (err) {
    report(label, err, io);
    return toCliExit(err).exitCode;
  }
}

function report(label: string, err: unknown, io: CliIo): void {
  const exit = toCliExit(err);
  const lines = [`${label}: ${exit.message}`, ...exit.details.map((d) => `  ${d}`)];
  io.stderr.write(`${lines.join('\n')}\n`);
  if (debugging(io)) {
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      if (!(e instanceof CliExit)) io.stderr.write(`${depth > 0 ? 'caused by: ' : ''}${e.stack ?? e.message}\n`);
    }
  }
}

/** CELLOS_DEBUG=1; false when the variable may not be read (Deno without --allow-env for it). */
function debugging(io: CliIo): boolean {
  try {
    return io.env.CELLOS_DEBUG === '1';
  } catch {
    return false;
  }
}

/** This process's streams, environment and signals. */
export function processIo(): CliIo {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onStopSignal(handler: (signal: StopSignal) => void) {
      const onInt = () => handler('SIGINT');
      const onTerm = () => handler('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
  };
}

/** The entry point: runs the command and exits with its code once stdout and stderr are flushed. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  // A failure nobody awaited (inside a library, say) still ends as one message and exit 2.
  const crash = (err: unknown) => {
    report('cellos', err, processIo());
    process.exit(EXIT.failure);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const code = await main(argv, processIo()).catch((err: unknown) => {
    // main reports its own errors; this is a bug in main itself.
    process.stderr.write(`cellos: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    return EXIT.failure;
  });
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

// Deno runs this file directly (`deno task cellos ...`); Node goes through bin/cellos.js.
if ((import.meta as ImportMeta & { main?: boolean }).main) {
  await runCli();
}
