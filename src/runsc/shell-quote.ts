// Quoting for POSIX sh, in one place: the copy-pasteable command of a RunscError and the values the
// cell supervisor sources from its launch.env are both read by sh.

/** `arg` as one sh word: as it is when every character is safe unquoted, else single-quoted. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
