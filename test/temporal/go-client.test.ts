// A cell started by a Go program with the Temporal Go SDK (test/fixtures/clients/go, built here with the
// machine's go; scripts/setup.sh builds it once to warm Go's caches): only the document as input; the
// result, the status query and the kill signal as a Go team would use them.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { projectRoot } from '../../src/project-root.ts';
import { rawDocument } from '../helpers/documents.ts';
import { expectStartCellOutput } from '../helpers/client-programs.ts';
import { useTestBed } from '../helpers/temporal.ts';

const run = promisify(execFile);
const bed = useTestBed();
const goModule = join(projectRoot, 'test/fixtures/clients/go');

let dir: string;
let startCell: string;

// Quick when scripts/setup.sh has warmed Go's module and build caches; about a minute when they are empty.
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cellos-goclient-'));
  startCell = join(dir, 'start_cell');
  try {
    await run('go', ['build', '-buildvcs=false', '-o', startCell, '.'], {
      cwd: goModule,
      env: { ...process.env, GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local' },
      timeout: 180_000,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('go is not on PATH: install Go >= 1.26, then run scripts/setup.sh (it builds the Go client)');
    throw err;
  }
}, 200_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a cell started from Go', () => {
  it('runs to its exit code and output, answers the status query and obeys the kill signal', async () => {
    const doc = rawDocument(['/bin/sh', '-c', 'echo from-go; exit 7'], { prefix: 'go' });
    const long = rawDocument(['/bin/sh', '-c', 'sleep 30'], { prefix: 'go' });
    const { stdout } = await run(
      startCell,
      [inject('temporalAddress'), bed.taskQueue, JSON.stringify(doc), JSON.stringify(long)],
      { timeout: 90_000 },
    );
    expectStartCellOutput(stdout, doc.spec.id, 'from-go', 'from go');
  }, 100_000);
});
