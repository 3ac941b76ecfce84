// A cell started by a Python program with the Temporal Python SDK (test/fixtures/clients/start_cell.py,
// run on the SDK that scripts/setup.sh installs into .tools/pyclient): only the document as input;
// the result, the status query and the kill signal as a Python team would use them.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, inject, it } from 'vitest';
import { projectRoot } from '../../src/project-root.ts';
import { rawDocument } from '../helpers/documents.ts';
import { expectStartCellOutput } from '../helpers/client-programs.ts';
import { useTestBed } from '../helpers/temporal.ts';

const run = promisify(execFile);
const bed = useTestBed();
const python = join(projectRoot, '.tools/pyclient/bin/python');

describe('a cell started from Python', () => {
  it('runs to its exit code and output, answers the status query and obeys the kill signal', async () => {
    if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/setup.sh (it installs temporalio)`);
    const doc = rawDocument(['/bin/sh', '-c', 'echo from-python; exit 7'], { prefix: 'py' });
    const long = rawDocument(['/bin/sh', '-c', 'sleep 30'], { prefix: 'py' });
    const { stdout } = await run(
      python,
      [
        join(projectRoot, 'test/fixtures/clients/start_cell.py'),
        inject('temporalAddress'),
        bed.taskQueue,
        JSON.stringify(doc),
        JSON.stringify(long),
      ],
      { timeout: 90_000 },
    );
    expectStartCellOutput(stdout, doc.spec.id, 'from-python', 'from python');
  });
});
