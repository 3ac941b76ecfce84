// A worker's memory settings: which ones a process has, and that every place that starts a worker
// process (bin/cellos.js's shebang, the Dockerfile, the bench scripts) starts it with all of them.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/project-root.ts';
import { memorySettingsInEffect, WORKER_MALLOC_ENV, WORKER_NODE_FLAGS } from '../../src/worker/memory-settings.ts';

const ALL = [...Object.entries(WORKER_MALLOC_ENV).map(([k, v]) => `${k}=${v}`), ...WORKER_NODE_FLAGS];

describe('memorySettingsInEffect', () => {
  it('finds the malloc settings in the environment and the V8 flag in execArgv or NODE_OPTIONS', () => {
    expect(memorySettingsInEffect({ ...WORKER_MALLOC_ENV }, [...WORKER_NODE_FLAGS])).toEqual({
      applied: ALL,
      missing: [],
    });
    expect(
      memorySettingsInEffect(
        { ...WORKER_MALLOC_ENV, NODE_OPTIONS: `--enable-source-maps ${WORKER_NODE_FLAGS[0]}` },
        [],
      ),
    ).toEqual({ applied: ALL, missing: [] });
  });

  it('names what is missing, and a value other than ours counts as missing', () => {
    const { applied, missing } = memorySettingsInEffect({ MALLOC_ARENA_MAX: '8', MALLOC_TRIM_THRESHOLD_: '131072' }, [
      '--max-semi-space-size=16',
    ]);
    expect(applied).toEqual(['MALLOC_TRIM_THRESHOLD_=131072']);
    expect(missing).toEqual(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072', '--max-semi-space-size=2']);
  });
});

describe('where worker processes start', () => {
  it("bin/cellos.js's shebang, run by the kernel, gives node every setting", async () => {
    const shebang = (await readFile(join(projectRoot, 'bin/cellos.js'), 'utf8')).split('\n')[0]!;
    // The same first line on a script that reports what its process got.
    const dir = await mkdtemp(join(tmpdir(), 'cellos-shebang-'));
    try {
      const script = join(dir, 'report.js');
      await writeFile(
        script,
        `${shebang}\nprocess.stdout.write(JSON.stringify({ env: process.env, execArgv: process.execArgv }));\n`,
      );
      await chmod(script, 0o755);
      const env = { ...process.env };
      for (const name of [...Object.keys(WORKER_MALLOC_ENV), 'NODE_OPTIONS']) delete env[name];
      const { stdout } = await promisify(execFile)(script, [], { env });
      const got = JSON.parse(stdout) as { env: Record<string, string>; execArgv: string[] };
      expect(memorySettingsInEffect(got.env, got.execArgv).missing).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the Dockerfile sets them for its node ENTRYPOINT', async () => {
    const dockerfile = await readFile(join(projectRoot, 'Dockerfile'), 'utf8');
    const env: Record<string, string> = {};
    for (const m of dockerfile.matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=(\S+?)\s*\\?$/gm)) env[m[1]!] = m[2]!;
    expect(memorySettingsInEffect(env, []).missing).toEqual([]);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", /m);
  });

  it('npm run bench and bench:timeline start node with them (bench:cluster starts its workers with them)', async () => {
    const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['bench', 'bench:timeline']) {
      const words = pkg.scripts[name]!.split('&&').at(-1)!.trim().split(/\s+/);
      const env = Object.fromEntries(
        words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split('=') as [string, string]),
      );
      expect({ name, missing: memorySettingsInEffect(env, words).missing }).toEqual({ name, missing: [] });
    }
  });
});
