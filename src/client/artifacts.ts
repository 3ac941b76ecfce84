// Getting a cell's exported artifacts back from any machine that reaches Temporal. What a cell
// exported is in its result (records, never content). The content is where the record's location
// says: in its host's folder store, read a chunk at a time by that host's worker
// (artifactChunkWorkflow on the host's control queue), or in an S3 bucket, read here directly with
// this machine's S3 settings and credentials. Every read ends with a check of the bytes against the
// record's size and sha256.
import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure, TimeoutFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { parseArtifactLocation } from '../artifacts/location.ts';
import { s3StoreConfigFromEnv, type S3StoreConfig } from '../artifacts/s3-config.ts';
import { ConfigError } from '../config-error.ts';
import {
  ARTIFACT_CHUNK_MAX_BYTES,
  ARTIFACT_CHUNK_WORKFLOW_TYPE,
  artifactChunkWorkflowId,
  artifactFailureTypes,
  type ArtifactChunk,
  type ArtifactChunkWorkflowInput,
  type ArtifactRecord,
  type RefusedArtifact,
} from '../contract/index.ts';
import { ARTIFACT_CORRUPT, ArtifactReadError } from './errors.ts';

/** What the latest run of a cell exported. */
export interface CellArtifacts {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  /** The host it ran on. */
  readonly hostId: string | undefined;
  readonly artifacts: readonly ArtifactRecord[];
  /** Declared in spec.export.artifacts but not exported, with why. */
  readonly refused: readonly RefusedArtifact[];
}

export interface ReadArtifactOptions {
  /** Stops the read between chunks (it then rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Where S3 artifacts are read from: by default CELLOS_ARTIFACTS_S3_* of this process's environment
   * (the workers' settings), with the AWS SDK's credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, a role).
   */
  readonly s3?: S3StoreConfig | undefined;
}

/** Bytes per S3 range request: no Temporal payload in between, so larger than a host's chunk. */
const S3_READ_BYTES = 8 * 1024 * 1024;

/**
 * Chunk workflows a read keeps running at once: each is a few round trips to the server, and waits
 * on them rather than on the disk. 8 of 360 KiB read as fast as 4 of 1 MiB (~6 MiB/s against the dev
 * server on 2 cores, 1 in flight ~2.5 MiB/s), and each host read takes a control slot for milliseconds.
 */
const CHUNKS_IN_FLIGHT = 8;

/** Long enough for the chunk workflow's own timeouts (10 s to start, 2 tries of 30 s). */
const CHUNK_WORKFLOW_TIMEOUT = '2m';

export interface ArtifactReader {
  readonly temporal: Client;
  readonly taskQueue: string;
}

/**
 * The artifact's bytes, in order. The size and sha256 are checked at the end: a consumer must treat
 * what it got as unverified until the iteration completes (a mismatch rejects with ArtifactReadError
 * of type ArtifactCorrupt after the last chunk).
 */
export async function* readArtifact(
  reader: ArtifactReader,
  record: ArtifactRecord,
  opts: ReadArtifactOptions = {},
): AsyncGenerator<Uint8Array> {
  const where = parseArtifactLocation(record.location);
  if (where === undefined) {
    throw new ArtifactReadError(
      record.location,
      artifactFailureTypes.invalidRequest,
      `artifact ${record.name}: ${JSON.stringify(record.location)} is not an artifact location (folder:<host id>:<sha256> or s3://<bucket>/<key>)`,
    );
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const chunks =
    where.kind === 'folder'
      ? folderChunks(reader, record, where.hostId, where.sha256, opts.signal)
      : s3Chunks(record, where.bucket, opts);
  for await (const chunk of chunks) {
    hash.update(chunk);
    bytes += chunk.length;
    yield chunk;
  }
  const sha256 = hash.digest('hex');
  if (bytes !== record.bytes || sha256 !== record.sha256) {
    throw new ArtifactReadError(
      record.location,
      ARTIFACT_CORRUPT,
      `artifact ${record.name} (${record.location}) read back as ${bytes} bytes with sha256 ${sha256}, but it was stored as ${record.bytes} bytes with sha256 ${record.sha256}: do not use what was read`,
    );
  }
}

/**
 * Chunks from a host's folder store, one artifactChunkWorkflow each, CHUNKS_IN_FLIGHT of them at a
 * time, yielded in order. At least one, even of an empty artifact: it says whether the host still has it.
 */
async function* folderChunks(
  reader: ArtifactReader,
  record: ArtifactRecord,
  hostId: string,
  sha256: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const nonce = randomUUID().slice(0, 8);
  const ranges: { offset: number; length: number }[] = [];
  for (let offset = 0; offset < record.bytes || ranges.length === 0; offset += ARTIFACT_CHUNK_MAX_BYTES) {
    ranges.push({ offset, length: Math.min(ARTIFACT_CHUNK_MAX_BYTES, record.bytes - offset) });
  }
  const read = async ({ offset, length }: { offset: number; length: number }): Promise<Uint8Array> => {
    const input: ArtifactChunkWorkflowInput = {
      taskQueue: reader.taskQueue,
      hostId,
      location: record.location,
      offset,
      length,
    };
    let chunk: ArtifactChunk;
    try {
      chunk = await reader.temporal.workflow.execute<(i: ArtifactChunkWorkflowInput) => Promise<ArtifactChunk>>(
        ARTIFACT_CHUNK_WORKFLOW_TYPE,
        {
          taskQueue: reader.taskQueue,
          workflowId: artifactChunkWorkflowId(sha256, offset, nonce),
          args: [input],
          workflowExecutionTimeout: CHUNK_WORKFLOW_TIMEOUT,
          staticSummary: `artifact ${record.name}: ${length} bytes at ${offset} from host ${hostId}`,
        },
      );
    } catch (err) {
      throw readFailure(record, err);
    }
    const bytes = Buffer.from(chunk.base64, 'base64');
    if (chunk.size !== record.bytes || bytes.length !== length) {
      throw new ArtifactReadError(
        record.location,
        ARTIFACT_CORRUPT,
        `artifact ${record.name}: host ${hostId} holds ${chunk.size} bytes under ${record.location} and answered ${bytes.length} at ${offset}, but it was stored as ${record.bytes}`,
      );
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  const inFlight: Promise<Uint8Array>[] = [];
  let next = 0;
  const launch = () => {
    const reading = read(ranges[next++]!);
    // Awaited in its turn; until then a failure must not count as unhandled.
    reading.catch(() => undefined);
    inFlight.push(reading);
  };
  while (next < ranges.length && inFlight.length < CHUNKS_IN_FLIGHT) launch();
  while (inFlight.length > 0) {
    signal?.throwIfAborted();
    const bytes = await inFlight.shift()!;
    signal?.throwIfAborted();
    if (next < ranges.length) launch();
    if (bytes.length > 0) yield bytes;
  }
}

/** The chunk workflow's failure as an ArtifactReadError of its type; anything else (no server) as it is. */
function readFailure(record: ArtifactRecord, err: unknown): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  const { cause } = err;
  if (cause instanceof ApplicationFailure && cause.type) {
    return new ArtifactReadError(record.location, cause.type, cause.message, { cause: err });
  }
  const message =
    cause instanceof TimeoutFailure
      ? `no worker ran the read of artifact ${record.name} within ${CHUNK_WORKFLOW_TIMEOUT}: is a worker polling the task queue?`
      : (cause?.message ?? err.message);
  return new ArtifactReadError(record.location, artifactFailureTypes.readFailed, message, { cause: err });
}

/** Chunks straight from the bucket, with this machine's S3 settings; the AWS SDK is loaded only here. */
async function* s3Chunks(
  record: ArtifactRecord,
  bucket: string,
  opts: ReadArtifactOptions,
): AsyncGenerator<Uint8Array> {
  const config = opts.s3 ?? s3StoreConfigFromEnv(process.env);
  if (config === undefined) {
    throw new ConfigError(
      `artifact ${record.name} is in S3 bucket ${bucket} (${record.location}): set CELLOS_ARTIFACTS_S3_BUCKET, and CELLOS_ARTIFACTS_S3_ENDPOINT, _REGION and _PREFIX as the workers have them, with AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) that may read it`,
    );
  }
  const { openS3Store } = await import('../artifacts/s3-open.ts');
  const { store, close } = openS3Store(config);
  try {
    if ((await store.size(record.location)) === undefined) {
      throw new ArtifactReadError(
        record.location,
        artifactFailureTypes.notStored,
        `artifact ${record.name} is no longer in S3 (${record.location}): expired by a lifecycle rule of bucket ${bucket}, or deleted`,
      );
    }
    let offset = 0;
    while (offset < record.bytes) {
      opts.signal?.throwIfAborted();
      const bytes = await store.read(record.location, offset, Math.min(S3_READ_BYTES, record.bytes - offset));
      // Shorter than stored: the check at the end says so.
      if (bytes.length === 0) return;
      offset += bytes.length;
      yield bytes;
    }
  } finally {
    close();
  }
}
