// `cellos doctor`'s checks in one list: the configuration's verdict, then this host's checks and the
// Temporal checks, run side by side. Pure: the probes come in as parameters.
import type { HostConfig } from '../host/config.ts';
import { checkHost, type HostProbe } from './host-checks.ts';
import { skip, type CheckResult } from './result.ts';
import { checkTemporal, TEMPORAL_TIMEOUT_MS, type TemporalProbe } from './temporal-checks.ts';

export interface DoctorInputs {
  /** The verdict on the settings: ok, or the setting that stops a worker from starting. */
  readonly config: CheckResult;
  /** Undefined when the host settings are invalid. */
  readonly host: { readonly probe: HostProbe; readonly config: HostConfig } | undefined;
  /** Undefined when the client settings are invalid. */
  readonly temporal: { readonly probe: TemporalProbe; readonly taskQueue: string; readonly hostId: string } | undefined;
  /** Name of the throw-away probe cgroup (unique to this process). */
  readonly probeName: string;
  readonly now: () => Date;
  readonly timeoutMs?: number;
}

export async function runDoctor(inputs: DoctorInputs): Promise<CheckResult[]> {
  const { host, temporal } = inputs;
  const notChecked = 'not checked: the configuration is invalid';
  const [hostResults, temporalResults] = await Promise.all([
    host ? checkHost(host.probe, host.config, { probeName: inputs.probeName }) : [skip('host', notChecked)],
    temporal
      ? checkTemporal(temporal.probe, {
          taskQueue: temporal.taskQueue,
          hostId: temporal.hostId,
          timeoutMs: inputs.timeoutMs ?? TEMPORAL_TIMEOUT_MS,
          now: inputs.now(),
        })
      : [skip('temporal', notChecked)],
  ]);
  return [inputs.config, ...hostResults, ...temporalResults];
}
