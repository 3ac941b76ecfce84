// What a command of `cellos` declares: its help, its flags and arguments, how they become the
// handler's options, and how to load the handler. The declarations are in ./table/; main.ts runs them.
import type { ParseArgsConfig } from 'node:util';
import type { CliIo } from './io.ts';

/** Flags as node:util parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig['options']>;
/** One flag's value as parseArgs returns it. */
export type Value = string | boolean | (string | boolean)[] | undefined;
export type Values = Record<string, Value>;

export type Handler<O> = (opts: O, io: CliIo) => Promise<{ readonly exitCode: number }>;

export interface Command<O> {
  readonly summary: string;
  readonly usage: string;
  /** Lines after the usage in --help. */
  readonly details: readonly string[];
  readonly options: Options;
  /** Names of the required positional arguments. */
  readonly positionals: readonly string[];
  /** Names of optional positional arguments after them (`normalize` gets undefined for those not given). */
  readonly optionalPositionals?: readonly string[];
  /** The handler's options from the parsed flags; throws a usage error (exit 1) for a bad one. */
  normalize(values: Values, positionals: readonly string[]): O;
  /** Imports the handler (lazily: a command loads only its own modules). */
  load(): Promise<Handler<O>>;
}

/** A command with subcommands (`cellos schedule create ...`). */
export interface CommandGroup {
  readonly summary: string;
  readonly subcommands: Readonly<Record<string, Command<unknown>>>;
}

export type CommandEntry = Command<unknown> | CommandGroup;

/** Declares a command, its options type checked against its handler's. */
export const command = <O>(c: Command<O>): Command<unknown> => c as Command<unknown>;

export const isGroup = (c: CommandEntry): c is CommandGroup => 'subcommands' in c;
