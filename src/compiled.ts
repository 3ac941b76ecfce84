// A cellos made by `deno compile` (scripts/compile.sh): one executable whose modules and embedded
// files sit in a read-only virtual folder ($TMPDIR/deno-compile-cellos/...) that no checkout backs.
// What the checkout holds otherwise, it gets elsewhere: the embedded default's state (below), and
// the workflow bundle, built at compile time and embedded (src/worker/workflow-bundle.ts).
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** Whether this process is a `deno compile`d cellos (Deno.build.standalone); false under Node and `deno run`. */
export const compiled =
  (globalThis as { Deno?: { build?: { standalone?: boolean } } }).Deno?.build?.standalone === true;

/**
 * The folder of a compiled cellos's embedded default (its dev server's SQLite file, its host's
 * cells), where a checkout has <project>/.state: $XDG_STATE_HOME/cellos, else ~/.local/state/cellos,
 * else /var/lib/cellos-embedded (root without HOME, as under `env -i`).
 */
export function compiledStateDir(env: Env): string {
  if (env.XDG_STATE_HOME?.startsWith('/')) return join(env.XDG_STATE_HOME, 'cellos');
  if (env.HOME?.startsWith('/')) return join(env.HOME, '.local', 'state', 'cellos');
  return '/var/lib/cellos-embedded';
}
