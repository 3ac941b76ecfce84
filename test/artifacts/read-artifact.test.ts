// The readArtifact activity (a host serving a chunk of its folder store) under MockActivityEnvironment,
// on a real folder store with an injected clock: what it reads, and what it refuses, non-retryably.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createHostControlActivities, type HostControlDeps } from '../../activities/host-control.ts';
import { createFolderStore } from '../../src/artifacts/folder-store.ts';
import type { ArtifactStore } from '../../src/artifacts/store.ts';
import {
  ARTIFACT_CHUNK_MAX_BYTES,
  artifactFailureTypes,
  type ArtifactChunk,
  type ArtifactChunkRequest,
} from '../../src/contract/index.ts';
import { sha256Of, useTempDir } from './helpers.ts';

const tmp = useTempDir('cellos-read-artifact-');
const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOST = 'host-a';

/** The host's control activities on a fresh folder store whose clock the test moves. */
async function setup() {
  const clock = { now: T0 };
  const store = createFolderStore({
    dir: await tmp.fresh('store-'),
    hostId: HOST,
    retentionSeconds: 60,
    quotaBytes: 1 << 30,
    now: () => clock.now,
  });
  const activities = hostActivities(store);
  const put = async (content: Uint8Array | string) => {
    const file = join(await tmp.fresh('files-'), 'artifact');
    await writeFile(file, content);
    return store.put({
      cellId: 'cell-1',
      runId: 'run-1',
      name: 'report',
      kind: 'file',
      bytes: typeof content === 'string' ? Buffer.byteLength(content) : content.length,
      sha256: sha256Of(content),
      file,
    });
  };
  const read = (input: ArtifactChunkRequest) =>
    activityEnvironment().run(activities.readArtifact, input) as Promise<ArtifactChunk>;
  return { clock, store, put, read };
}

/** The SDK logs every failed activity at WARN: the refusals here are expected. */
const activityEnvironment = () => new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });

/** Only the artifact store matters to readArtifact. */
function hostActivities(artifactStore: ArtifactStore) {
  return createHostControlActivities({ hostId: HOST, artifactStore } as unknown as HostControlDeps);
}

async function refusal(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).nonRetryable).toBe(true);
  return err as ApplicationFailure;
}

const text = (chunk: ArtifactChunk) => Buffer.from(chunk.base64, 'base64').toString('utf8');

describe('readArtifact', () => {
  it('answers a range of the bytes, base64, with the stored size', async () => {
    const { put, read } = await setup();
    const location = await put('0123456789');
    const chunk = await read({ location, offset: 2, length: 5 });
    expect(chunk.size).toBe(10);
    expect(text(chunk)).toBe('23456');
    expect(text(await read({ location, offset: 8, length: 5 }))).toBe('89');
    expect(text(await read({ location, offset: 10, length: 5 }))).toBe('');
  });

  it('serves a whole chunk of the most bytes one carries', async () => {
    const { put, read } = await setup();
    const bytes = new Uint8Array(ARTIFACT_CHUNK_MAX_BYTES + 10).map((_, i) => i % 251);
    const location = await put(bytes);
    const chunk = await read({ location, offset: 0, length: ARTIFACT_CHUNK_MAX_BYTES });
    expect(Buffer.from(chunk.base64, 'base64').equals(Buffer.from(bytes.subarray(0, ARTIFACT_CHUNK_MAX_BYTES)))).toBe(
      true,
    );
  });

  it.each([
    [{ offset: -1, length: 1 }, 'offset must be a whole number >= 0, got -1'],
    [{ offset: 0.5, length: 1 }, 'offset must be a whole number >= 0, got 0.5'],
    [{ offset: 0, length: Number.NaN }, 'length must be a whole number >= 0, got null'],
    [{ offset: 0, length: ARTIFACT_CHUNK_MAX_BYTES + 1 }, `the most one chunk carries`],
  ])('refuses %j as an invalid request', async (range, message) => {
    const { put, read } = await setup();
    const location = await put('abc');
    const err = await refusal(read({ location, ...range }));
    expect(err.type).toBe(artifactFailureTypes.invalidRequest);
    expect(err.message).toContain(message);
  });

  it('refuses a location that is none', async () => {
    const { read } = await setup();
    const err = await refusal(read({ location: '/etc/passwd', offset: 0, length: 1 }));
    expect(err.type).toBe(artifactFailureTypes.invalidRequest);
    expect(err.message).toMatch(/"\/etc\/passwd" is not an artifact location/);
  });

  it("refuses another host's location, naming both hosts", async () => {
    const { read } = await setup();
    const location = `folder:host-b:${sha256Of('x')}`;
    const err = await refusal(read({ location, offset: 0, length: 1 }));
    expect(err.type).toBe(artifactFailureTypes.notOnThisHost);
    expect(err.message).toBe(
      `artifact ${location} is in the folder store of host host-b, not of host ${HOST}: only that host's worker can read it`,
    );
  });

  it('refuses an S3 location: a client reads those from the bucket', async () => {
    const { read } = await setup();
    const err = await refusal(read({ location: 's3://bucket/cells/c/r/out', offset: 0, length: 1 }));
    expect(err.type).toBe(artifactFailureTypes.notOnThisHost);
    expect(err.message).toMatch(/is in S3 bucket bucket, not in a host's folder store: read it from the bucket/);
  });

  it('says an artifact past its retention expired, even before a sweep removed it', async () => {
    const { clock, put, read } = await setup();
    const location = await put('soon gone');
    expect(text(await read({ location, offset: 0, length: 100 }))).toBe('soon gone');
    clock.now += 61_000;
    const err = await refusal(read({ location, offset: 0, length: 100 }));
    expect(err.type).toBe(artifactFailureTypes.notStored);
    expect(err.message).toBe(
      `artifact ${location} expired or was removed from host ${HOST}'s folder store (it keeps artifacts for CELLOS_ARTIFACTS_RETENTION_SECONDS after they are stored)`,
    );
  });

  it('says so of content it never had', async () => {
    const { read } = await setup();
    const err = await refusal(read({ location: `folder:${HOST}:${sha256Of('never')}`, offset: 0, length: 1 }));
    expect(err.type).toBe(artifactFailureTypes.notStored);
  });

  it("refuses its own folder location once the host's artifacts go to S3", async () => {
    const s3: ArtifactStore = {
      kind: 's3',
      put: () => Promise.reject(new Error('unused')),
      read: () => Promise.reject(new Error('unused')),
      size: () => Promise.reject(new Error('unused')),
    };
    const err = await refusal(
      activityEnvironment().run(hostActivities(s3).readArtifact, {
        location: `folder:${HOST}:${sha256Of('x')}`,
        offset: 0,
        length: 1,
      }),
    );
    expect(err.type).toBe(artifactFailureTypes.notStored);
    expect(err.message).toMatch(/this host now keeps artifacts in S3 \(CELLOS_ARTIFACTS_S3_BUCKET\)/);
  });

  it('leaves a failing disk to the retry policy', async () => {
    const broken: ArtifactStore = {
      kind: 'folder',
      put: () => Promise.reject(new Error('unused')),
      size: () => Promise.resolve(3),
      read: () => Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })),
    };
    const err = await activityEnvironment()
      .run(hostActivities(broken).readArtifact, { location: `folder:${HOST}:${sha256Of('x')}`, offset: 0, length: 1 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect((err as Error).message).toBe('EIO: i/o error, read');
  });
});
