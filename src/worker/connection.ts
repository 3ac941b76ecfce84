// Connections to Temporal, for workers (native) and clients, from one configuration. Each SDK is
// loaded when its connect is called: a client never loads @temporalio/worker.
import { readFile } from 'node:fs/promises';
import type { TemporalConnectionConfig } from './config.ts';

export async function tlsOptions(cfg: TemporalConnectionConfig) {
  if (cfg.tls === false) return undefined;
  if (cfg.tls === true) return true;
  const [crt, key, ca] = await Promise.all([
    cfg.tls.certPath ? readFile(cfg.tls.certPath) : undefined,
    cfg.tls.keyPath ? readFile(cfg.tls.keyPath) : undefined,
    cfg.tls.caPath ? readFile(cfg.tls.caPath) : undefined,
  ]);
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(cfg.tls.serverName ? { serverNameOverride: cfg.tls.serverName } : {}),
  };
}

/**
 * Connects a worker, retrying for up to `retryForMs`: a worker restarted while its server also
 * restarts (or is not up yet) waits for it instead of exiting.
 */
export async function connectNative(cfg: TemporalConnectionConfig & { address: string }, retryForMs = 60_000) {
  const { NativeConnection } = await import('@temporalio/worker');
  const tls = await tlsOptions(cfg);
  const until = Date.now() + retryForMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await NativeConnection.connect({ address: cfg.address, tls, apiKey: cfg.apiKey });
    } catch (err) {
      if (Date.now() + delay > until) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export async function connectClient(cfg: TemporalConnectionConfig & { address: string }) {
  const { Connection } = await import('@temporalio/client');
  return Connection.connect({ address: cfg.address, tls: await tlsOptions(cfg), apiKey: cfg.apiKey });
}
