// `cellos doctor [--json] [--task-queue Q] [--host-id H]`: whether this host can run cells as
// `cellos worker` would run them here, read from the same settings: runsc and its platform, cgroups,
// the default rootfs, the state folders, Temporal, the namespace's search attributes and the host's
// queue. Prints each check and what to fix; exits 1 when one failed (warnings do not count).
import { requireHostPermissions } from '../../deno-permissions.ts';
import type { CheckResult } from '../../doctor/result.ts';
import type { CliIo } from '../io.ts';
import { overrideEnv } from './worker-common.ts';

export interface DoctorOptions {
  readonly taskQueue: string | undefined;
  readonly hostId: string | undefined;
  readonly json: boolean;
}

export interface DoctorOutput {
  readonly exitCode: number;
  readonly results: readonly CheckResult[];
}

export async function doctor(opts: DoctorOptions, io: CliIo): Promise<DoctorOutput> {
  // Under Deno without --allow-all its host checks would read nothing and report wrongly.
  await requireHostPermissions();
  // The flags `cellos worker` takes, over the environment, as it applies them.
  const env = overrideEnv(io.env, { CELLOS_TASK_QUEUE: opts.taskQueue, CELLOS_HOST_ID: opts.hostId });
  const [{ doctorConfig }, { runDoctor }, { nodeHostProbe }, { nodeTemporalProbe }, report] = await Promise.all([
    import('../../doctor/config.ts'),
    import('../../doctor/doctor.ts'),
    import('../../doctor/node-host.ts'),
    import('../../doctor/node-temporal.ts'),
    import('../../doctor/report.ts'),
  ]);
  const config = doctorConfig(env);
  const results = await runDoctor({
    config: config.check,
    host: config.host && { probe: nodeHostProbe(env), config: config.host },
    temporal: config.client && {
      probe: nodeTemporalProbe(config.client, env),
      taskQueue: config.client.taskQueue,
      hostId: config.hostId,
    },
    probeName: `cellos-doctor-${process.pid}`,
    now: () => new Date(),
  });
  io.stdout.write(`${opts.json ? JSON.stringify(results, null, 2) : report.formatChecks(results)}\n`);
  return { exitCode: report.doctorExitCode(results), results };
}
