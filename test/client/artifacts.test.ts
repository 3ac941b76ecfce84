// Reading artifacts back through the client, against the test run's dev server: from a host's folder
// store through its worker (artifactChunkWorkflow on its control queue, chunk by chunk), and from a
// real MinIO server directly. The artifacts are put into the stores here, as the host's collector
// would after a cell.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createS3Store } from '../../src/artifacts/s3-store.ts';
import type { ArtifactKind, ArtifactStore } from '../../src/artifacts/store.ts';
import type { CellClient } from '../../src/client/cell-client.ts';
import { ARTIFACT_CORRUPT, ArtifactReadError } from '../../src/client/errors.ts';
import { ConfigError } from '../../src/config-error.ts';
import {
  ARTIFACT_CHUNK_MAX_BYTES,
  ARTIFACT_CHUNK_WORKFLOW_TYPE,
  artifactFailureTypes,
  type ArtifactRecord,
} from '../../src/contract/index.ts';
import { startMinio, type TestMinio } from '../helpers/minio.ts';
import { useTestBed } from '../helpers/temporal.ts';
import { sleep, until } from '../helpers/wait.ts';

const bed = useTestBed();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cellos-client-artifacts-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** Puts `content` into `store` as the collector would, and answers its record as a CellResult lists it. */
async function stored(
  store: ArtifactStore,
  content: Uint8Array,
  fields: { name?: string; kind?: ArtifactKind } = {},
): Promise<ArtifactRecord> {
  const name = fields.name ?? `artifact-${++n}`;
  const kind = fields.kind ?? 'file';
  const file = join(dir, `put-${n}-${randomBytes(4).toString('hex')}`);
  await writeFile(file, content);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const location = await store.put({
    cellId: 'artifacts-test',
    runId: `run-${n}`,
    name,
    kind,
    bytes: content.length,
    sha256,
    file,
  });
  await rm(file);
  return { name, path: `/tmp/${name}`, kind, bytes: content.length, sha256, location };
}

/** Everything a read yields, as one buffer, and the size of each chunk. */
async function readAll(
  client: CellClient,
  record: ArtifactRecord,
  opts: Parameters<CellClient['readArtifact']>[1] = {},
) {
  const chunks: Uint8Array[] = [];
  for await (const chunk of client.readArtifact(record, opts)) chunks.push(chunk);
  return { bytes: Buffer.concat(chunks), sizes: chunks.map((c) => c.length) };
}

async function readError(client: CellClient, record: ArtifactRecord): Promise<ArtifactReadError> {
  const err = await readAll(client, record).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArtifactReadError);
  return err as ArtifactReadError;
}

describe("an artifact in a host's folder store", () => {
  it('is read chunk by chunk through its host, every byte, and checked against its sha256', async () => {
    const content = randomBytes(2.5 * 1024 * 1024);
    const record = await stored(bed.host.artifactStore, content);
    expect(record.location).toBe(`folder:${bed.host.config.hostId}:${record.sha256}`);
    const { bytes, sizes } = await readAll(bed.client, record);
    const whole = Math.floor(content.length / ARTIFACT_CHUNK_MAX_BYTES);
    expect(whole).toBeGreaterThanOrEqual(2);
    expect(sizes).toEqual([
      ...Array<number>(whole).fill(ARTIFACT_CHUNK_MAX_BYTES),
      content.length - whole * ARTIFACT_CHUNK_MAX_BYTES,
    ]);
    expect(bytes.equals(content)).toBe(true);
  });

  it('reads an empty artifact as no bytes, still asking its host whether it has it', async () => {
    const record = await stored(bed.host.artifactStore, new Uint8Array(0));
    expect((await readAll(bed.client, record)).bytes).toHaveLength(0);
  });

  it('fails after the last chunk when the bytes do not have the sha256 the record says', async () => {
    const record = await stored(bed.host.artifactStore, Buffer.from('what the cell wrote\n'));
    const err = await readError(bed.client, { ...record, sha256: '0'.repeat(64) });
    expect(err.type).toBe(ARTIFACT_CORRUPT);
    expect(err.message).toBe(
      `artifact ${record.name} (${record.location}) read back as 20 bytes with sha256 ${record.sha256}, but it was stored as 20 bytes with sha256 ${'0'.repeat(64)}: do not use what was read`,
    );
  });

  it('keeps its chunk workflows out of the cell listings (cellos ps)', async () => {
    const record = await stored(bed.host.artifactStore, Buffer.from('listed?\n'));
    await readAll(bed.client, record);
    const prefix = `artifact-${record.sha256.slice(0, 12)}-0-`;
    const query = `WorkflowType = '${ARTIFACT_CHUNK_WORKFLOW_TYPE}' AND TaskQueue = '${bed.taskQueue}'`;
    await until(
      'the chunk workflow showing in visibility',
      async () => {
        const ids: string[] = [];
        for await (const wf of bed.client.temporal.workflow.list({ query })) ids.push(wf.workflowId);
        return ids;
      },
      (ids) => ids.some((id) => id.startsWith(prefix)),
    );
    const cells = await bed.client.list({ query: `TaskQueue = '${bed.taskQueue}'`, limit: 1000 });
    expect(cells.filter((c) => c.workflowId.startsWith('artifact-'))).toEqual([]);
  });

  it('of a host whose worker is not running fails in 10 s, naming the host', async () => {
    const sha256 = createHash('sha256').update('elsewhere').digest('hex');
    const record: ArtifactRecord = {
      name: 'elsewhere',
      path: '/tmp/elsewhere',
      kind: 'file',
      bytes: 9,
      sha256,
      location: `folder:gone-host:${sha256}`,
    };
    const started = Date.now();
    const err = await readError(bed.client, record);
    expect(err.type).toBe(artifactFailureTypes.hostUnavailable);
    expect(err.message).toBe(
      'host gone-host did not answer in 10 s: its worker is not running, and the artifact is in its folder store',
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('stops between chunks when its signal is aborted', async () => {
    const record = await stored(bed.host.artifactStore, randomBytes(ARTIFACT_CHUNK_MAX_BYTES + 1));
    const abort = new AbortController();
    const read = (async () => {
      for await (const _ of bed.client.readArtifact(record, { signal: abort.signal })) abort.abort(new Error('enough'));
    })();
    await expect(read).rejects.toThrow('enough');
  });
});

describe("an artifact past its host's retention", () => {
  // A host of its own, whose folder store keeps artifacts for a second.
  const shortBed = useTestBed({ host: { artifacts: { retentionSeconds: 1 } } });

  it('is refused by its host as expired, naming the setting', async () => {
    const record = await stored(shortBed.host.artifactStore, Buffer.from('short-lived\n'));
    expect((await readAll(shortBed.client, record)).bytes.toString()).toBe('short-lived\n');
    await sleep(1100);
    const err = await readError(shortBed.client, record);
    expect(err.type).toBe(artifactFailureTypes.notStored);
    expect(err.message).toBe(
      `artifact ${record.location} expired or was removed from host ${shortBed.host.config.hostId}'s folder store (it keeps artifacts for CELLOS_ARTIFACTS_RETENTION_SECONDS after they are stored)`,
    );
  });
});

describe('an artifact in S3', () => {
  const BUCKET = 'cellos-client-artifacts';
  let minio: TestMinio;
  let store: ArtifactStore;
  let env: Record<string, string>;

  beforeAll(async () => {
    minio = await startMinio();
    await minio.createBucket(BUCKET);
    store = createS3Store({ bucket: BUCKET, prefix: 'team/a', endpoint: minio.endpoint, client: minio.client() });
    env = {
      CELLOS_ARTIFACTS_S3_BUCKET: BUCKET,
      CELLOS_ARTIFACTS_S3_PREFIX: 'team/a',
      CELLOS_ARTIFACTS_S3_ENDPOINT: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    };
  });
  afterAll(async () => {
    await minio?.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  const stubEnv = (vars: Record<string, string>) => {
    for (const name of [...Object.keys(env), 'AWS_PROFILE', 'AWS_SESSION_TOKEN']) vi.stubEnv(name, undefined);
    for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value);
  };

  it("is read straight from the bucket with the client's CELLOS_ARTIFACTS_S3_* and AWS credentials", async () => {
    const content = randomBytes(2.5 * 1024 * 1024);
    const record = await stored(store, content, { name: 'build.tar', kind: 'directory' });
    expect(record.location).toMatch(new RegExp(`^s3://${BUCKET}/team/a/cells/artifacts-test/`));
    stubEnv(env);
    const { bytes } = await readAll(bed.client, record);
    expect(bytes.equals(content)).toBe(true);
  });

  it('fails saying what to set when the client has no S3 settings', async () => {
    const record = await stored(store, Buffer.from('in the bucket\n'));
    stubEnv({});
    const err = await readAll(bed.client, record).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^artifact ${record.name} is in S3 bucket ${BUCKET} \\(.*\\): set CELLOS_ARTIFACTS_S3_BUCKET, and CELLOS_ARTIFACTS_S3_ENDPOINT`,
      ),
    );
  });

  it('says an object the bucket no longer has is gone', async () => {
    const record = await stored(store, Buffer.from('deleted later\n'));
    stubEnv(env);
    const missing = { ...record, location: record.location.replace(/[^/]+$/, 'never-stored') };
    const err = await readError(bed.client, missing);
    expect(err.type).toBe(artifactFailureTypes.notStored);
    expect(err.message).toMatch(
      /is no longer in S3 .*: expired by a lifecycle rule of bucket cellos-client-artifacts, or deleted$/,
    );
  });
});
