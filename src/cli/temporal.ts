// Which Temporal server a command talks to: TEMPORAL_ADDRESS, or the embedded local dev server
// (see src/worker/embedded.ts for CELLOS_DEV_PORT, CELLOS_DEV_UI_PORT, CELLOS_DEV_STATE_DIR).
//
// CELLOS_UI_URL: base URL of the Temporal web UI for the links `cellos run` prints (e.g.
// https://temporal.example.com); by default the embedded server's, or localhost:8233 for a server at
// localhost:7233, and none otherwise.
import { ConfigError } from '../config-error.ts';
import { isListening } from '../temporal/dev-server.ts';
import type { ClientConfig, TemporalConnectionConfig } from '../worker/config.ts';
import { embeddedServerSettings, ensureEmbeddedServer } from '../worker/embedded.ts';
import { failure } from './exit.ts';
import type { CliIo } from './io.ts';

const CONNECT_TIMEOUT_MS = 5000;

export interface TemporalTarget {
  readonly connection: TemporalConnectionConfig & { address: string };
  /** The local dev server of the embedded default (TEMPORAL_ADDRESS unset). */
  readonly embedded: boolean;
  /** The web UI's base URL when known. */
  readonly uiBase: string | undefined;
}

/**
 * TEMPORAL_ADDRESS when set; otherwise the embedded dev server, started (detached, for the next
 * commands to reuse) when `start` is set and nothing listens on its port yet.
 */
export async function resolveTemporal(
  cfg: ClientConfig,
  io: CliIo,
  opts: { start: boolean; waitForServer?: boolean },
): Promise<TemporalTarget> {
  const { address } = cfg.temporal;
  if (address !== undefined) {
    // A worker waits for its server (connectNative retries for a minute): a worker restarted while
    // the server restarts must not give up. Clients fail fast instead.
    if (!opts.waitForServer) await requireServer(address, 'TEMPORAL_ADDRESS');
    return { connection: { ...cfg.temporal, address }, embedded: false, uiBase: uiBaseFor(address, io.env) };
  }
  const settings = embeddedServerSettings(io.env);
  // The local dev server speaks plain gRPC: credentials meant for a remote server do not apply.
  const local = { ...cfg.temporal, tls: false, apiKey: undefined };
  const uiBase = io.env.CELLOS_UI_URL || `http://localhost:${settings.uiPort}`;
  if (!opts.start) {
    const at = `${settings.ip}:${settings.port}`;
    await requireServer(at, undefined);
    return { connection: { ...local, address: at }, embedded: true, uiBase };
  }
  const server = await ensureEmbeddedServer(settings, local.namespace);
  if (server.startedPid !== undefined) {
    io.stderr.write(
      `cellos: started a local Temporal dev server at ${server.address} (pid ${server.startedPid}, UI ${server.uiUrl}, data in ${server.stateDir}); ` +
        `it keeps running for the next commands: stop it with \`kill ${server.startedPid}\`\n`,
    );
  }
  return { connection: { ...local, address: server.address }, embedded: true, uiBase };
}

/** Exit 2 with a clear message when nothing listens at `address` (host:port). */
export async function requireServer(address: string, setting: string | undefined): Promise<void> {
  const [host, port] = splitAddress(address);
  // isListening waits as long as the OS does for a host that drops packets: give up sooner.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tooLong = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
  });
  const listening = await Promise.race([isListening(host, port), tooLong]);
  clearTimeout(timer);
  if (listening) return;
  throw failure(
    setting
      ? `no Temporal server at ${address} (${setting}); start one with \`cellos dev\` or fix ${setting}`
      : `no Temporal server at ${address} (start one with \`cellos dev\` or set TEMPORAL_ADDRESS)`,
  );
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port))
    throw new ConfigError(`Temporal address ${JSON.stringify(address)} must be host:port`);
  return [address.slice(0, i), port];
}

/** CELLOS_UI_URL, else the UI of a local server on the standard port, else unknown. */
function uiBaseFor(address: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.CELLOS_UI_URL) return env.CELLOS_UI_URL;
  const [host, port] = splitAddress(address);
  return ['127.0.0.1', 'localhost', '::1'].includes(host) && port === 7233 ? 'http://localhost:8233' : undefined;
}
