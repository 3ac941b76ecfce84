// A real MinIO server for a test file (the S3 artifact store is tested against it, not a mock of
// the SDK): built by scripts/setup.sh into .tools/minio/, started on free loopback ports with its
// data in a temporary folder, stopped and the folder removed after.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { projectRoot } from '../../src/project-root.ts';
import { freePorts } from './ports.ts';
import { sleep } from './wait.ts';

export const MINIO_BINARY = join(projectRoot, '.tools/minio/minio');

export interface TestMinio {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly dataDir: string;
  /** A path-style client with the root credentials (or others, to test a refusal). */
  client(credentials?: { accessKeyId: string; secretAccessKey: string }): S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartMinioOptions {
  /** Default: .tools/minio/minio. */
  readonly binary?: string;
  /** How long to wait for /minio/health/live (default 30 s). */
  readonly readyTimeoutMs?: number;
}

/** Starts `minio server` and waits until its health endpoint answers; fails saying why (never skips). */
export async function startMinio(opts: StartMinioOptions = {}): Promise<TestMinio> {
  const binary = opts.binary ?? MINIO_BINARY;
  if (!existsSync(binary)) {
    throw new Error(`the MinIO server binary is missing at ${binary}: run bash scripts/setup.sh (it builds it)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'cellos-minio-'));
  const dataDir = join(dir, 'data');
  const logPath = join(dir, 'minio.log');
  const [port, consolePort] = await freePorts(2);
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = 'cellos-test';
  const secretAccessKey = `secret-${process.pid}-${Date.now()}`;
  const log = await open(logPath, 'a');
  const child = spawn(
    binary,
    ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    {
      stdio: ['ignore', log.fd, log.fd],
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_UPDATE: 'off',
        MINIO_BROWSER: 'off',
      },
    },
  );
  await log.close();
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited ${code}`));
    child.once('error', (err) => resolve(`could not start: ${err.message}`));
  });
  // A test process that dies leaves no server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if ((await Promise.race([exited, sleep(10_000).then(() => 'timeout')])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const status = await fetch(`${endpoint}/minio/health/live`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) break;
    const ended = await Promise.race([exited, sleep(100).then(() => undefined)]);
    if (ended !== undefined || Date.now() > deadline) {
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
      await stop();
      throw new Error(
        `minio server on ${endpoint} ${ended ?? `was not live within ${readyTimeoutMs} ms`} (${binary}); its log:\n${tail}`,
      );
    }
  }

  const client = (credentials = { accessKeyId, secretAccessKey }) =>
    new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  const root = client();
  return {
    endpoint,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    dataDir,
    client,
    async createBucket(name) {
      await root.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      root.destroy();
      await stop();
    },
  };
}
