// One Temporal dev server (SQLite file, low-latency settings, our search attributes) for the
// whole test run. Tests reach it through inject('temporalAddress').
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { DevServer } from '../../src/temporal/dev-server.ts';
import { startTestDevServer } from './dev-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    temporalStateDir: string;
  }
}

let server: DevServer | undefined;
let stateDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  stateDir = await mkdtemp(join(tmpdir(), 'cellos-temporal-'));
  server = await startTestDevServer(stateDir);
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiUrl', server.uiUrl ?? '');
  project.provide('temporalStateDir', stateDir);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}
