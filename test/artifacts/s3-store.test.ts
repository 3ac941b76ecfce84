// The S3 artifact store against a real MinIO server (built by scripts/setup.sh), through the AWS SDK.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Store, S3StoreError } from '../../src/artifacts/s3-store.ts';
import type { ArtifactPut, ArtifactStore } from '../../src/artifacts/store.ts';
import { startMinio, type TestMinio } from '../helpers/minio.ts';
import { freePort } from '../helpers/ports.ts';
import { withEnv } from '../helpers/env.ts';

const BUCKET = 'cellos-artifacts';
const PREFIX = 'test/run';

let minio: TestMinio;
let store: ArtifactStore;
let dir: string;
let files = 0;

beforeAll(async () => {
  minio = await startMinio();
  await minio.createBucket(BUCKET);
  store = createS3Store({ bucket: BUCKET, prefix: PREFIX, endpoint: minio.endpoint, client: minio.client() });
  dir = await mkdtemp(join(tmpdir(), 'cellos-s3-test-'));
});

afterAll(async () => {
  await minio?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** An artifact as the collector hands it over: a host file, its size and its sha256. */
async function artifact(content: Uint8Array | string, fields: Partial<ArtifactPut> = {}): Promise<ArtifactPut> {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const file = join(dir, `artifact-${++files}`);
  await writeFile(file, bytes);
  return {
    cellId: 'cell-1',
    runId: 'run-1',
    name: 'out.txt',
    kind: 'file',
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    file,
    ...fields,
  };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The error a promise rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<S3StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(S3StoreError);
  return err as S3StoreError;
}

describe('the MinIO test helper', () => {
  it('fails saying what is missing and how to get it when the server binary is not built', async () => {
    await expect(startMinio({ binary: '/nonexistent/minio' })).rejects.toThrow(
      'the MinIO server binary is missing at /nonexistent/minio: run bash scripts/setup.sh (it builds it)',
    );
  });
});

describe('createS3Store', () => {
  it('keeps an artifact under <prefix>/cells/<cell>/<run>/<name> and answers its s3:// location', async () => {
    const location = await store.put(await artifact('hello, artifacts\n'));
    expect(location).toBe(`s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/out.txt`);
    expect(text(await store.read(location, 0, 1024))).toBe('hello, artifacts\n');
  });

  it('reads byte ranges: fewer at the end, none past it', async () => {
    const location = await store.put(await artifact('0123456789', { name: 'digits' }));
    expect(text(await store.read(location, 0, 4))).toBe('0123');
    expect(text(await store.read(location, 3, 4))).toBe('3456');
    expect(text(await store.read(location, 8, 100))).toBe('89');
    expect(await store.read(location, 10, 5)).toEqual(new Uint8Array(0));
    expect(await store.read(location, 1000, 5)).toEqual(new Uint8Array(0));
    expect(await store.read(location, 2, 0)).toEqual(new Uint8Array(0));
  });

  it('keeps an empty artifact, which reads as no bytes', async () => {
    const location = await store.put(await artifact('', { name: 'empty' }));
    expect(await store.size(location)).toBe(0);
    expect(await store.read(location, 0, 10)).toEqual(new Uint8Array(0));
  });

  it('streams an artifact too large to hold in memory and reads any chunk of it', async () => {
    const content = randomBytes(9 * 1024 * 1024 + 7);
    const put = await artifact(content, { name: 'big.tar', kind: 'directory' });
    const location = await store.put(put);
    expect(await store.size(location)).toBe(content.length);
    const chunk = await store.read(location, 5 * 1024 * 1024 - 3, 1024 * 1024);
    expect(Buffer.from(chunk).equals(content.subarray(5 * 1024 * 1024 - 3, 6 * 1024 * 1024 - 3))).toBe(true);
    const tail = await store.read(location, content.length - 10, 1024);
    expect(Buffer.from(tail).equals(content.subarray(content.length - 10))).toBe(true);
    const head = await minio
      .client()
      .send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/cells/cell-1/run-1/big.tar` }));
    expect(head.ContentType).toBe('application/x-tar');
  });

  it('stores the sha256 as metadata and as the object checksum that the server verified', async () => {
    const put = await artifact('checked', { name: 'checked.txt', runId: 'run-2' });
    await store.put(put);
    const head = await minio.client().send(
      new HeadObjectCommand({
        Bucket: BUCKET,
        Key: `${PREFIX}/cells/cell-1/run-2/checked.txt`,
        ChecksumMode: 'ENABLED',
      }),
    );
    expect(head.Metadata).toEqual({ sha256: put.sha256, 'cell-id': 'cell-1', 'run-id': 'run-2', kind: 'file' });
    expect(head.ChecksumSHA256).toBe(Buffer.from(put.sha256, 'hex').toString('base64'));
  });

  it('refuses bytes that do not match the sha256 they were collected with', async () => {
    const put = await artifact('the real bytes', { name: 'tampered' });
    const err = await rejection(store.put({ ...put, sha256: 'ab'.repeat(32) }));
    expect(err.message).toMatch(
      new RegExp(`^S3 PutObject s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/tampered at ${minio.endpoint} failed: `),
    );
    expect(err.httpStatus).toBe(400);
    expect(await store.size(`s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/tampered`)).toBeUndefined();
  });

  it('escapes a name that is not one key segment, and reads it back', async () => {
    const slashed = await store.put(await artifact('a', { name: 'logs/../secret file' }));
    expect(slashed).toBe(`s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/logs%2F..%2Fsecret%20file`);
    expect(text(await store.read(slashed, 0, 10))).toBe('a');
    const dots = await store.put(await artifact('b', { name: '..' }));
    expect(dots).toBe(`s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/%2E%2E`);
    expect(text(await store.read(dots, 0, 10))).toBe('b');
  });

  it('answers the size, and undefined once the object is gone', async () => {
    const location = await store.put(await artifact('12345', { name: 'expiring' }));
    expect(await store.size(location)).toBe(5);
    await minio
      .client()
      .send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/cells/cell-1/run-1/expiring` }));
    expect(await store.size(location)).toBeUndefined();
    expect(await store.size(`s3://${BUCKET}/${PREFIX}/cells/never/stored/x`)).toBeUndefined();
  });

  it('names the bucket, the key, the endpoint and NoSuchKey when reading a missing object', async () => {
    const location = `s3://${BUCKET}/${PREFIX}/cells/cell-1/run-9/missing`;
    const err = await rejection(store.read(location, 0, 10));
    expect(err.message).toMatch(
      new RegExp(
        `^S3 GetObject ${location.replaceAll('/', '\\/')} at ${minio.endpoint} failed: NoSuchKey \\(HTTP 404\\): `,
      ),
    );
    expect(err).toMatchObject({
      code: 'NoSuchKey',
      httpStatus: 404,
      bucket: BUCKET,
      key: `${PREFIX}/cells/cell-1/run-9/missing`,
    });
  });

  it('refuses a location in another bucket, outside its prefix, or not s3:// at all', async () => {
    const other = await rejection(store.read(`s3://other-bucket/${PREFIX}/cells/cell-1/run-1/out.txt`, 0, 1));
    expect(other.message).toBe(
      `artifact s3://other-bucket/${PREFIX}/cells/cell-1/run-1/out.txt is in bucket other-bucket, but this store (${minio.endpoint}) keeps bucket ${BUCKET}: it was stored under another CELLOS_ARTIFACTS_S3_BUCKET`,
    );
    const outside = await rejection(store.size(`s3://${BUCKET}/elsewhere/cells/cell-1/run-1/out.txt`));
    expect(outside.message).toContain(`is not under ${PREFIX}/cells/ in bucket ${BUCKET}`);
    const folder = await rejection(store.read(`folder:host-1:${'0'.repeat(64)}`, 0, 1));
    expect(folder.message).toContain('is not an S3 artifact location (s3://<bucket>/<key>)');
  });

  it('names the missing bucket when the bucket does not exist', async () => {
    const nowhere = createS3Store({ bucket: 'no-such-bucket', endpoint: minio.endpoint, client: minio.client() });
    const err = await rejection(nowhere.put(await artifact('x')));
    expect(err.message).toMatch(
      new RegExp(
        `^S3 PutObject s3://no-such-bucket/cells/cell-1/run-1/out.txt at ${minio.endpoint} failed: NoSuchBucket \\(HTTP 404\\)`,
      ),
    );
  });

  it('reports refused credentials with the code, the bucket, the key and the endpoint, and without the credentials', async () => {
    const wrongSecret = 'not-the-secret-0123456789';
    for (const credentials of [
      { accessKeyId: minio.accessKeyId, secretAccessKey: wrongSecret },
      { accessKeyId: 'unknown-key-id', secretAccessKey: wrongSecret },
    ]) {
      const refused = createS3Store({
        bucket: BUCKET,
        prefix: PREFIX,
        endpoint: minio.endpoint,
        client: minio.client(credentials),
      });
      const put = await rejection(refused.put(await artifact('x', { name: 'refused' })));
      expect(put.message).toMatch(
        new RegExp(
          `^S3 PutObject s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/refused at ${minio.endpoint} failed: (SignatureDoesNotMatch|InvalidAccessKeyId) \\(HTTP 403\\): `,
        ),
      );
      const head = await rejection(refused.size(`s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/out.txt`));
      expect(head.message).toBe(
        `S3 HeadObject s3://${BUCKET}/${PREFIX}/cells/cell-1/run-1/out.txt at ${minio.endpoint} failed: HTTP 403 (no S3 error code in the answer: access denied, or the credentials refused)`,
      );
      for (const err of [put, head]) {
        const everything = `${inspect(err, { depth: 10 })}\n${JSON.stringify(err)}\n${err.stack}`;
        expect(everything).not.toContain(wrongSecret);
        expect(everything).not.toContain(credentials.accessKeyId);
        expect(everything).not.toContain(minio.secretAccessKey);
      }
    }
  });

  it('names the endpoint and the network error when the server cannot be reached', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const unreachable = createS3Store({
      bucket: BUCKET,
      endpoint,
      client: new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      }),
    });
    const err = await rejection(unreachable.size(`s3://${BUCKET}/cells/cell-1/run-1/out.txt`));
    expect(err.message).toBe(
      `S3 HeadObject s3://${BUCKET}/cells/cell-1/run-1/out.txt at ${endpoint} failed: ECONNREFUSED: connect ECONNREFUSED ${endpoint.slice('http://'.length)}`,
    );
    expect(err).toMatchObject({ code: 'ECONNREFUSED', httpStatus: undefined });
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('takes credentials from the environment through the SDK default chain when given no client', async () => {
    const credentials = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
    await withEnv(credentials, async () => {
      const fromEnv = createS3Store({ bucket: BUCKET, prefix: 'from-env', endpoint: minio.endpoint });
      const location = await fromEnv.put(await artifact('via env', { runId: 'run-env' }));
      expect(location).toBe(`s3://${BUCKET}/from-env/cells/cell-1/run-env/out.txt`);
      expect(text(await fromEnv.read(location, 4, 100))).toBe('env');
    });
  });

  it('refuses a file whose size is not the one it was collected with, before sending anything', async () => {
    const put = await artifact('four');
    await expect(store.put({ ...put, name: 'short', bytes: 40 })).rejects.toThrow(
      `artifact short: ${put.file} holds 4 bytes, not the 40 it was collected with`,
    );
  });
});
