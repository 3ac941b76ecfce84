// `cellos artifacts` against the test run's Temporal dev server, with a worker in this process
// (startTestBed) on its own task queue, which the CLI gets through CELLOS_TASK_QUEUE. The artifacts
// are those real cells export (spec.export.artifacts), read back from the host's folder store
// through its worker.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CellArtifacts } from '../../src/client/artifacts.ts';
import type { CellClient } from '../../src/client/cell-client.ts';
import type { CellResult } from '../../src/contract/index.ts';
import { closeTestClient, connectTestClient } from '../helpers/client.ts';
import { startMinio, type TestMinio } from '../helpers/minio.ts';
import { workerProcess, type WorkerProcess } from '../helpers/worker-process.ts';
import type { TemporalTestBed } from '../helpers/temporal.ts';
import { readTar } from '../artifacts/helpers.ts';
import {
  cli,
  cliDocument,
  hasStackTrace,
  type CliResult,
  type CliSandbox,
  type Env,
  useCliTestBed,
} from './cli-helpers.ts';

let box: CliSandbox;
let bed: TemporalTestBed;
let env: Env;
useCliTestBed((made) => ({ box, bed, env } = made));

const sha256Of = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

function expectExit(r: CliResult, code: number): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  expect(hasStackTrace(r.stderr)).toBe(false);
}

/** A fresh, empty working folder for the CLI. */
let folders = 0;
async function workdir(): Promise<string> {
  const dir = join(box.dir, `work-${++folders}`);
  await mkdir(dir);
  return dir;
}

describe('cellos artifacts', () => {
  let exported: CellResult;

  beforeAll(async () => {
    // Needs the host's collection of spec.export.artifacts (issue 12): until the host collects them,
    // the cell's result lists none and the tests of this block fail.
    const run = await bed.client.start(
      cliDocument('echo hello > /tmp/out.txt; mkdir -p /tmp/site/a; echo "<h1>hi</h1>" > /tmp/site/a/index.html', {
        spec: {
          export: {
            artifacts: [
              { name: 'out.txt', path: '/tmp/out.txt' },
              { name: 'site', path: '/tmp/site' },
              { name: 'missing', path: '/tmp/nope' },
            ],
          },
        },
      }),
    );
    // Bounded: a host that cannot run it would retry for ever.
    const timer = setTimeout(() => {
      run.kill('the cell exporting artifacts did not finish in 60 s').catch(() => undefined);
    }, 60_000);
    try {
      exported = await run.result();
    } finally {
      clearTimeout(timer);
    }
    expect(exported.outcome).toEqual({ kind: 'exited', code: 0 });
  });

  it("lists a cell's artifacts, and those refused with why, as JSON", async () => {
    const r = await cli(['artifacts', exported.cellId, '--json'], { env });
    expectExit(r, 0);
    const listed = JSON.parse(r.stdout) as CellArtifacts;
    expect(listed).toMatchObject({ cellId: exported.cellId, runId: exported.runId, hostId: bed.host.config.hostId });
    expect(listed.artifacts.map((a) => a.name)).toEqual(['out.txt', 'site']);
    expect(listed.artifacts[0]).toEqual({
      name: 'out.txt',
      path: '/tmp/out.txt',
      kind: 'file',
      bytes: 6,
      sha256: sha256Of('hello\n'),
      location: `folder:${bed.host.config.hostId}:${sha256Of('hello\n')}`,
    });
    expect(listed.artifacts[1]).toMatchObject({ name: 'site', path: '/tmp/site', kind: 'directory' });
    expect(listed.refused).toEqual([{ name: 'missing', path: '/tmp/nope', reason: expect.any(String) as string }]);
  });

  it('lists them as a table: name, kind, bytes, the start of the sha256, where', async () => {
    const r = await cli(['artifacts', exported.cellId], { env });
    expectExit(r, 0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+BYTES\s+SHA256\s+WHERE$/);
    expect(lines[1]).toMatch(
      new RegExp(`^out\\.txt\\s+file\\s+6\\s+${sha256Of('hello\n').slice(0, 12)}\\s+host ${bed.host.config.hostId}$`),
    );
    expect(lines[2]).toMatch(/^site\s+directory\s+\d+\s+[0-9a-f]{12}\s+host /);
    expect(r.stdout).toContain('refused (declared in spec.export.artifacts, not exported):');
    expect(lines.find((l) => l.startsWith('missing'))).toMatch(/^missing\s+\/tmp\/nope\s+\S/);
  });

  it('writes a file artifact to ./<name> and a directory to ./<name>.tar, checked against their sha256', async () => {
    const cwd = await workdir();
    expectExit(await cli(['artifacts', exported.cellId, 'out.txt'], { env, cwd }), 0);
    expect(await readFile(join(cwd, 'out.txt'), 'utf8')).toBe('hello\n');
    const site = await cli(['artifacts', exported.cellId, 'site', '--json'], { env, cwd });
    expectExit(site, 0);
    const record = JSON.parse(site.stdout) as { sha256: string; path: string };
    expect(record.path).toBe('site.tar');
    expect(sha256Of(await readFile(join(cwd, 'site.tar')))).toBe(record.sha256);
    const entries = await readTar(join(cwd, 'site.tar'));
    expect(entries.find((e) => e.header.name.endsWith('a/index.html'))?.body).toBe('<h1>hi</h1>\n');
    // Nothing but the artifacts: the temp files were renamed or removed.
    expect((await readdir(cwd)).sort()).toEqual(['out.txt', 'site.tar']);
  });

  it('refuses to overwrite a file unless --force, and writes to -o PATH or stdout', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'out.txt'), 'mine\n');
    const refused = await cli(['artifacts', exported.cellId, 'out.txt'], { env, cwd });
    expectExit(refused, 1);
    expect(refused.stderr).toContain('out.txt exists: give --force to overwrite it, or -o another path');
    expect(await readFile(join(cwd, 'out.txt'), 'utf8')).toBe('mine\n');
    expectExit(await cli(['artifacts', exported.cellId, 'out.txt', '--force'], { env, cwd }), 0);
    expect(await readFile(join(cwd, 'out.txt'), 'utf8')).toBe('hello\n');

    expectExit(await cli(['artifacts', exported.cellId, 'out.txt', '-o', join(cwd, 'copy')], { env }), 0);
    expect(await readFile(join(cwd, 'copy'), 'utf8')).toBe('hello\n');
    const stdout = await cli(['artifacts', exported.cellId, 'out.txt', '-o', '-'], { env });
    expectExit(stdout, 0);
    expect(stdout.stdout).toBe('hello\n');
  });

  it('refuses a name the cell did not export, listing those it did (exit 1)', async () => {
    const r = await cli(['artifacts', exported.cellId, 'report.pdf'], { env });
    expectExit(r, 1);
    expect(r.stderr).toContain(
      `cell ${exported.cellId} exported no artifact "report.pdf"; its artifacts: out.txt, site`,
    );
    const refused = await cli(['artifacts', exported.cellId, 'missing'], { env });
    expectExit(refused, 1);
    expect(refused.stderr).toContain(`artifact missing of cell ${exported.cellId} was not exported: `);
  });
});

describe('cellos artifacts of a cell that exports none', () => {
  let plain: CellResult;
  beforeAll(async () => {
    plain = await bed.client.run(cliDocument('echo nothing to keep'));
  });

  it('says so on stderr and lists nothing (exit 0); --json gives empty lists', async () => {
    const r = await cli(['artifacts', plain.cellId], { env });
    expectExit(r, 0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `cell ${plain.cellId} (run ${plain.runId}) exported no artifacts: its document declares none in spec.export.artifacts`,
    );
    const json = await cli(['artifacts', plain.cellId, '--json'], { env });
    expectExit(json, 0);
    expect(JSON.parse(json.stdout)).toMatchObject({ cellId: plain.cellId, artifacts: [], refused: [] });
  });

  it('refuses a name (exit 1)', async () => {
    const r = await cli(['artifacts', plain.cellId, 'out.txt'], { env });
    expectExit(r, 1);
    expect(r.stderr).toContain(`cell ${plain.cellId} (run ${plain.runId}) exported no artifacts`);
  });
});

describe('cellos artifacts, its command line and failures', () => {
  it.each([
    [['artifacts', 'c1', '-o', 'x'], '-o and --force need the name of the artifact to fetch'],
    [['artifacts', 'c1', '--force'], '-o and --force need the name of the artifact to fetch'],
    [['artifacts', 'c1', '../etc'], 'artifact name "../etc" is invalid'],
    [['artifacts', 'c1', 'out', '-o', '-', '--json'], '--json and -o - both write to stdout: choose one'],
    [['artifacts'], 'expected <cell-id> [name], got none'],
    [['artifacts', 'c1', 'a', 'b'], 'expected <cell-id> [name], got "c1" "a" "b"'],
  ])('refuses %j as a usage error (exit 1)', async (args, message) => {
    const r = await cli(args, { env });
    expectExit(r, 1);
    expect(r.stderr).toContain(message);
  });

  it('fails with exit 2 for a cell that does not exist', async () => {
    const r = await cli(['artifacts', 'no-such-cell-here'], { env });
    expectExit(r, 2);
    expect(r.stderr).toContain('no cell no-such-cell-here on');
  });

  it('fails with exit 2 while the cell runs: its artifacts are collected when it ends', async () => {
    const run = await bed.client.start(cliDocument('sleep 30'));
    try {
      const r = await cli(['artifacts', run.cellId], { env });
      expectExit(r, 2);
      expect(r.stderr).toContain(`cell ${run.cellId} (workflow ${run.workflowId}) is still running`);
    } finally {
      await run.kill('test over');
      await run.result();
    }
  });
});

describe('cellos artifacts of a worker that keeps them in S3', () => {
  const BUCKET = 'cellos-cli-artifacts';
  let minio: TestMinio;
  let worker: WorkerProcess;
  let client: CellClient;
  let s3Env: Env;
  const taskQueue = `artifacts-s3-${process.pid}`;

  beforeAll(async () => {
    minio = await startMinio();
    await minio.createBucket(BUCKET);
    s3Env = {
      CELLOS_ARTIFACTS_S3_BUCKET: BUCKET,
      CELLOS_ARTIFACTS_S3_PREFIX: 'cellos',
      CELLOS_ARTIFACTS_S3_ENDPOINT: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    };
    // `cellos worker` itself: the S3 store is made from its environment (worker-runtime.ts).
    worker = await workerProcess({
      address: inject('temporalAddress'),
      taskQueue,
      hostId: `${box.hostId}-s3`,
      env: s3Env as Record<string, string>,
    });
    await worker.start();
    client = await connectTestClient({ taskQueue });
  });
  afterAll(async () => {
    await closeTestClient(client);
    await worker?.dispose();
    await minio?.stop();
  });

  it('lists the s3:// location and reads the bytes from the bucket with the same settings', async () => {
    const result = await client.run(
      cliDocument('printf "from the bucket" > /tmp/report', {
        spec: { export: { artifacts: [{ name: 'report', path: '/tmp/report' }] } },
      }),
    );
    const cliEnv = { ...env, CELLOS_TASK_QUEUE: taskQueue };
    const listed = await cli(['artifacts', result.cellId, '--json'], { env: cliEnv });
    expectExit(listed, 0);
    const [record] = (JSON.parse(listed.stdout) as CellArtifacts).artifacts;
    expect(record).toMatchObject({ name: 'report', bytes: 15, sha256: sha256Of('from the bucket') });
    expect(record!.location).toBe(`s3://${BUCKET}/cellos/cells/${result.cellId}/${result.runId}/report`);

    const read = await cli(['artifacts', result.cellId, 'report', '-o', '-'], { env: { ...cliEnv, ...s3Env } });
    expectExit(read, 0);
    expect(read.stdout).toBe('from the bucket');

    const unset = await cli(['artifacts', result.cellId, 'report', '-o', '-'], { env: cliEnv });
    expectExit(unset, 1);
    expect(unset.stderr).toContain(
      `configuration: artifact report is in S3 bucket ${BUCKET} (${record!.location}): set CELLOS_ARTIFACTS_S3_BUCKET`,
    );
  });
});
