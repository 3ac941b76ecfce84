// The embedded default: what `cellos run`, `cellos worker` and `cellos dev` use when TEMPORAL_ADDRESS is
// not set. A local `temporal server start-dev` (SQLite under <project>/.state/temporal), started
// detached so that it outlives one command and the next one reuses it, and a host whose state lives
// under <project>/.state/host. A compiled binary has no project: its .state is compiledStateDir's.
//
// Settings (environment), beside those of workerConfigFromEnv:
//   CELLOS_DEV_PORT       gRPC port of the local dev server (default 7233)
//   CELLOS_DEV_UI_PORT    port of its web UI (default 8233)
//   CELLOS_DEV_STATE_DIR  its folder: SQLite file, log and the pid file temporal-server.pid
//                         (default <project>/.state/temporal; see defaultStateDir)
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config-error.ts';
import { isListening, startDevServer, type DevServer } from '../temporal/dev-server.ts';
import { defaultStateDir } from './config.ts';

type Env = Readonly<Record<string, string | undefined>>;

export const DEV_SERVER_PID_FILE = 'temporal-server.pid';

export interface EmbeddedServerSettings {
  readonly ip: string;
  readonly port: number;
  readonly uiPort: number;
  readonly stateDir: string;
}

export interface EmbeddedServer extends EmbeddedServerSettings {
  readonly address: string;
  /** The web UI, as a browser on this machine reaches it. */
  readonly uiUrl: string;
  /** Set when this call started the server (its pid is also in the pid file); undefined when it reused one. */
  readonly startedPid: number | undefined;
}

export function embeddedServerSettings(env: Env): EmbeddedServerSettings {
  const port = portSetting('CELLOS_DEV_PORT', env.CELLOS_DEV_PORT, 7233);
  const uiPort = portSetting('CELLOS_DEV_UI_PORT', env.CELLOS_DEV_UI_PORT, 8233);
  if (port === uiPort) throw new ConfigError(`CELLOS_DEV_PORT and CELLOS_DEV_UI_PORT must differ (both ${port})`);
  const stateDir = env.CELLOS_DEV_STATE_DIR || resolve(defaultStateDir(env), 'temporal');
  if (!stateDir.startsWith('/')) {
    throw new ConfigError(`CELLOS_DEV_STATE_DIR=${JSON.stringify(stateDir)} must be an absolute path`);
  }
  return { ip: '127.0.0.1', port, uiPort, stateDir };
}

/**
 * The local dev server at the settings' port: reused when something listens there, otherwise started
 * detached (it keeps running after this process) with its pid written to <stateDir>/temporal-server.pid.
 */
export async function ensureEmbeddedServer(
  settings: EmbeddedServerSettings,
  namespace = 'default',
): Promise<EmbeddedServer> {
  const address = `${settings.ip}:${settings.port}`;
  const base = { ...settings, address, uiUrl: `http://localhost:${settings.uiPort}` };
  if (await isListening(settings.ip, settings.port)) return { ...base, startedPid: undefined };
  try {
    const server = await startDevServer({
      stateDir: settings.stateDir,
      ip: settings.ip,
      port: settings.port,
      uiPort: settings.uiPort,
      namespace,
      detached: true,
    });
    if (server.reused || server.pid === undefined) return { ...base, startedPid: undefined };
    await writeFile(join(settings.stateDir, DEV_SERVER_PID_FILE), `${server.pid}\n`);
    return { ...base, startedPid: server.pid };
  } catch (err) {
    // Another command started it at the same moment.
    if (await isListening(settings.ip, settings.port)) return { ...base, startedPid: undefined };
    throw err;
  }
}

/** The dev server in the foreground (`cellos dev`): not detached, stopped by stop(); reused if one listens. */
export async function startForegroundServer(
  settings: EmbeddedServerSettings,
  namespace = 'default',
): Promise<DevServer> {
  return startDevServer({ ...settings, namespace, detached: false });
}

function portSetting(name: string, value: string | undefined, dflt: number): number {
  if (value === undefined || value === '') return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must be a port number from 1 to 65535`);
  }
  return n;
}
