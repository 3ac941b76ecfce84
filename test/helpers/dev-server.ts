// Temporal dev servers for tests: the run's shared one (global-setup.ts) and the chaos test's own.
// Each listens on ports nobody else holds and dies with the process that started it.
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { freePorts } from './ports.ts';

export interface TestDevServer extends DevServer {
  readonly port: number;
}

/**
 * Starts `temporal server start-dev` with its SQLite file in `stateDir` (and, unless headless, its
 * UI), on free ports or on `port` (to start a stopped one again). A server already listening there
 * is an error: a test never talks to a server it did not start.
 */
export async function startTestDevServer(
  stateDir: string,
  opts: { headless?: boolean; port?: number } = {},
): Promise<TestDevServer> {
  const [port, uiPort] = opts.port === undefined ? await freePorts(2) : [opts.port, ...(await freePorts(1))];
  const server = await startDevServer({ stateDir, port, uiPort, headless: opts.headless, detached: false });
  if (server.reused) throw new Error(`port ${port} is already taken by another Temporal server (or another program)`);
  return { ...server, port: port! };
}
