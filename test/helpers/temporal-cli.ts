// The Temporal CLI against the test run's server, as a user types it: `temporal <group> <args>`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { findTemporalCli } from '../../src/temporal/cli.ts';

const run = promisify(execFile);

export interface CliOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** `temporal <group> <args> --address <test server>`: stdout, stderr and the exit code (never throws on one). */
export async function temporalCli(group: 'workflow' | 'schedule', args: string[]): Promise<CliOutput> {
  const cli = await findTemporalCli();
  return run(cli, [group, ...args, '--address', inject('temporalAddress')], { timeout: 60_000 }).then(
    (r) => ({ ...r, code: 0 }),
    (err: { stdout?: string; stderr?: string; code?: number }) => ({
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
      code: err.code ?? 1,
    }),
  );
}
