/**
 * A setting (an environment variable, a flag, an option of the worker, the host or the dev server)
 * that is wrong or that this machine cannot honour: thrown at start, before any cell runs. The
 * message names the setting and the bad value; the CLI exits 1 with it.
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
}
