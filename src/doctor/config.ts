// What `cellos doctor` checks against: the settings `cellos worker` would read from this environment,
// through the same functions (a bad one is the first check's failure, named as the worker names it).
import { ConfigError } from '../config-error.ts';
import { normalizeHostConfig, type HostConfig } from '../host/config.ts';
import { clientConfigFromEnv, machineHostId, workerConfigFromEnv, type ClientConfig } from '../worker/config.ts';
import { embeddedServerSettings } from '../worker/embedded.ts';
import { fail, ok, type CheckResult } from './result.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface DoctorConfig {
  readonly check: CheckResult;
  /** Undefined when a worker or host setting is invalid. */
  readonly host: HostConfig | undefined;
  /** Undefined when a client setting is invalid too. */
  readonly client: ClientConfig | undefined;
  readonly hostId: string;
}

export function doctorConfig(env: Env): DoctorConfig {
  try {
    const worker = workerConfigFromEnv(env);
    const host = normalizeHostConfig(worker.host, env);
    // Without TEMPORAL_ADDRESS the worker uses the local dev server, on the port CELLOS_DEV_PORT sets.
    if (worker.temporal.address === undefined) embeddedServerSettings(env);
    const server = worker.temporal.address ?? 'the local dev server';
    return {
      check: ok(
        'config',
        `host ${host.hostId}, task queue ${worker.taskQueue}, ${server}, namespace ${worker.temporal.namespace}`,
      ),
      host,
      client: worker,
      hostId: host.hostId,
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    let client: ClientConfig | undefined;
    try {
      client = clientConfigFromEnv(env);
      if (client.temporal.address === undefined) embeddedServerSettings(env);
    } catch {
      client = undefined;
    }
    return {
      check: fail(
        'config',
        err.message,
        'fix the setting it names (README, "Configuration (worker)"): `cellos worker` does not start until then',
      ),
      host: undefined,
      client,
      hostId: env.CELLOS_HOST_ID || machineHostId(),
    };
  }
}
