// The driver's own runsc calls (kill, delete, list, state) get the host's child environment, not the
// worker's: no secret or key reaches a runsc process.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { childEnv } from '../../src/runsc/child-env.ts';
import { createRunscDriver } from '../../src/runsc/driver.ts';
import { withEnv } from '../helpers/env.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cellos-runsc-env-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('runs runsc with the environment it is given and nothing inherited', async () => {
  // A runsc that records its environment, then answers `list` as the real one does when empty.
  const fake = join(dir, 'runsc');
  await writeFile(fake, `#!/bin/sh\nenv > "${dir}/env"\necho null\n`);
  await chmod(fake, 0o755);
  const workerEnv = { PATH: process.env.PATH, CELLOS_SECRET_DB: 'hunter2', CELLOS_PAYLOAD_KEYS: 'k=abc', MARK: 'kept' };
  const driver = createRunscDriver({
    runscPath: fake,
    root: join(dir, 'root'),
    platform: 'ptrace',
    env: childEnv(workerEnv, ['hunter2']),
  });
  await withEnv({ CELLOS_SECRET_FROM_PROCESS: 'leaked-if-inherited' }, async () => {
    expect(await driver.list()).toEqual([]);
  });
  const env = await readFile(join(dir, 'env'), 'utf8');
  expect(env).toContain('MARK=kept');
  expect(env).not.toContain('hunter2');
  expect(env).not.toContain('CELLOS_PAYLOAD_KEYS');
  expect(env).not.toContain('leaked-if-inherited');
});
