// The S3 artifact store: keeps each exported artifact as one object in an S3-compatible bucket
// (AWS S3, MinIO, Ceph) through the AWS SDK for JavaScript v3, and reads it back by byte ranges.
//
// Keys are per cell run: `<prefix>/cells/<cellId>/<runId>/<name>`, not content-addressed. A cell's
// artifacts can then be listed, expired (a bucket lifecycle rule on the prefix) and deleted without
// knowing whether another cell stored the same bytes, and an object's metadata (cell, run, sha256)
// is true of the one cell that wrote it; a retried put writes the same key again. What content
// addressing would save, identical artifacts of different cells, is rare.
//
// Credentials come from the SDK's default provider chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity or instance role); nothing here reads, logs or
// passes them on, and an error names the bucket, the key, the endpoint and S3's error code only.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isCellId } from '../document/cell-id.ts';
import { DEFAULT_S3_REGION } from './s3-config.ts';
import { parseArtifactLocation } from './location.ts';
import type { ArtifactPut, ArtifactStore } from './store.ts';

export interface S3StoreOptions {
  readonly bucket: string;
  /** Keys start with `<prefix>/` ('' or absent: at the bucket's root). */
  readonly prefix?: string;
  /** An S3-compatible server's URL; absent: AWS S3. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Default: true when an endpoint is given. */
  readonly forcePathStyle?: boolean;
  /**
   * A client made elsewhere (tests, a caller with its own credentials or retry settings). The store
   * then uses it as it is: endpoint and region above only name the store in messages.
   */
  readonly client?: S3Client;
}

export type S3Operation = 'PutObject' | 'GetObject' | 'HeadObject';

/** A failed S3 call, or a location this store does not keep. The message holds no credential. */
export class S3StoreError extends Error {
  override readonly name: string = 'S3StoreError';
  readonly bucket: string;
  readonly key: string | undefined;
  readonly endpoint: string;
  /** S3's error code (NoSuchBucket, AccessDenied, SignatureDoesNotMatch, ...), or the network error's. */
  readonly code: string | undefined;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;

  constructor(
    message: string,
    fields: {
      bucket: string;
      key?: string;
      endpoint: string;
      code?: string;
      httpStatus?: number;
      requestId?: string;
      cause?: unknown;
    },
  ) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.bucket = fields.bucket;
    this.key = fields.key;
    this.endpoint = fields.endpoint;
    this.code = fields.code;
    this.httpStatus = fields.httpStatus;
    this.requestId = fields.requestId;
  }
}

/** Bodies up to this size are sent from memory, so that the SDK can retry them; larger ones stream. */
const BUFFERED_PUT_MAX_BYTES = 8 * 1024 * 1024;
const S3_KEY_MAX_BYTES = 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

interface Context {
  readonly client: S3Client;
  readonly bucket: string;
  /** `<prefix>/cells/` or `cells/`: every key this store writes or reads starts with it. */
  readonly keyRoot: string;
  /** How messages name the server: the endpoint URL, or `AWS S3 (<region>)`. */
  readonly endpointLabel: string;
}

export function createS3Store(options: S3StoreOptions): ArtifactStore {
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const region = options.region ?? DEFAULT_S3_REGION;
  const ctx: Context = {
    client:
      options.client ??
      new S3Client({
        region,
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      }),
    bucket: options.bucket,
    keyRoot: prefix === '' ? 'cells/' : `${prefix}/cells/`,
    endpointLabel: options.endpoint ?? `AWS S3 (${region})`,
  };
  return {
    kind: 's3',
    put: (artifact) => put(ctx, artifact),
    read: (location, offset, length) => read(ctx, location, offset, length),
    size: (location) => size(ctx, location),
  };
}

async function put(ctx: Context, artifact: ArtifactPut): Promise<string> {
  const key = keyFor(ctx, artifact);
  const where = `s3://${ctx.bucket}/${key}`;
  if (!SHA256_HEX.test(artifact.sha256)) {
    throw new Error(`artifact ${artifact.name}: sha256 ${JSON.stringify(artifact.sha256)} is not lowercase hex`);
  }
  const bytes = (await stat(artifact.file)).size;
  if (bytes !== artifact.bytes) {
    throw new Error(
      `artifact ${artifact.name}: ${artifact.file} holds ${bytes} bytes, not the ${artifact.bytes} it was collected with`,
    );
  }
  const body = bytes <= BUFFERED_PUT_MAX_BYTES ? await readFile(artifact.file) : createReadStream(artifact.file);
  try {
    await ctx.client.send(
      new PutObjectCommand({
        Bucket: ctx.bucket,
        Key: key,
        Body: body,
        ContentLength: bytes,
        ContentType: artifact.kind === 'directory' ? 'application/x-tar' : 'application/octet-stream',
        // The server checks the bytes against it (MinIO: XAmzContentChecksumMismatch, AWS: BadDigest) and keeps it.
        ChecksumSHA256: Buffer.from(artifact.sha256, 'hex').toString('base64'),
        Metadata: {
          sha256: artifact.sha256,
          'cell-id': artifact.cellId,
          'run-id': artifact.runId,
          kind: artifact.kind,
        },
      }),
    );
  } catch (err) {
    throw s3Error(ctx, 'PutObject', key, err);
  } finally {
    if (!Buffer.isBuffer(body)) body.destroy();
  }
  return where;
}

async function read(ctx: Context, location: string, offset: number, length: number): Promise<Uint8Array> {
  const key = keyOf(ctx, location);
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`read ${location}: offset ${offset} and length ${length} must be whole numbers >= 0`);
  }
  if (length === 0) return new Uint8Array(0);
  try {
    const res = await ctx.client.send(
      new GetObjectCommand({ Bucket: ctx.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }),
    );
    const data = (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
    // A server that ignored the range (status 200 rather than 206) sent the whole object.
    if (res.$metadata.httpStatusCode === 200 && res.ContentRange === undefined) {
      return data.subarray(offset, offset + length);
    }
    return data.length > length ? data.subarray(0, length) : data;
  } catch (err) {
    // A range that starts at or past the end (or any range of an empty object).
    if (errorCode(err) === 'InvalidRange') return new Uint8Array(0);
    throw s3Error(ctx, 'GetObject', key, err);
  }
}

async function size(ctx: Context, location: string): Promise<number | undefined> {
  const key = keyOf(ctx, location);
  try {
    const res = await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }));
    return res.ContentLength ?? 0;
  } catch (err) {
    // HEAD answers have no body: a missing key (or bucket) is a bare 404.
    if (httpStatus(err) === 404) return undefined;
    throw s3Error(ctx, 'HeadObject', key, err);
  }
}

function keyFor(ctx: Context, artifact: ArtifactPut): string {
  if (!isCellId(artifact.cellId)) {
    throw new Error(`artifact ${artifact.name}: cell id ${JSON.stringify(artifact.cellId)} is not a valid cell id`);
  }
  if (artifact.runId === '' || artifact.name === '') {
    throw new Error(`artifact of cell ${artifact.cellId}: run id and name must not be empty`);
  }
  const key = `${ctx.keyRoot}${artifact.cellId}/${keySegment(artifact.runId)}/${keySegment(artifact.name)}`;
  const keyBytes = Buffer.byteLength(key);
  if (keyBytes > S3_KEY_MAX_BYTES) {
    throw new Error(
      `artifact ${artifact.name} of cell ${artifact.cellId}: its key would be ${keyBytes} bytes, over S3's ${S3_KEY_MAX_BYTES} (shorten the name or CELLOS_ARTIFACTS_S3_PREFIX)`,
    );
  }
  return key;
}

/** One key segment: `/` and anything unusual %-escaped, and no `.` or `..` segment (HTTP stacks fold them). */
function keySegment(text: string): string {
  const encoded = encodeURIComponent(text);
  return encoded === '.' || encoded === '..' ? encoded.replaceAll('.', '%2E') : encoded;
}

/** The key of one of this store's locations; refuses another bucket's, or a key it does not write. */
function keyOf(ctx: Context, location: string): string {
  const where = parseArtifactLocation(location);
  if (where?.kind !== 's3') {
    throw new S3StoreError(`${JSON.stringify(location)} is not an S3 artifact location (s3://<bucket>/<key>)`, {
      bucket: ctx.bucket,
      endpoint: ctx.endpointLabel,
    });
  }
  const { bucket, key } = where;
  if (bucket !== ctx.bucket) {
    throw new S3StoreError(
      `artifact ${location} is in bucket ${bucket}, but this store (${ctx.endpointLabel}) keeps bucket ${ctx.bucket}: it was stored under another CELLOS_ARTIFACTS_S3_BUCKET`,
      { bucket: ctx.bucket, key, endpoint: ctx.endpointLabel },
    );
  }
  if (!key.startsWith(ctx.keyRoot)) {
    throw new S3StoreError(
      `artifact ${location} is not under ${ctx.keyRoot} in bucket ${ctx.bucket}: it was stored under another CELLOS_ARTIFACTS_S3_PREFIX, or not by cellos`,
      { bucket: ctx.bucket, key, endpoint: ctx.endpointLabel },
    );
  }
  return key;
}

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  Code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** S3's error code (the SDK names service errors by it), or a network error's (ECONNREFUSED). */
function errorCode(err: unknown): string | undefined {
  const e = err as SdkErrorShape | null;
  // The retry middleware gives every error $metadata; only a server's answer has a status.
  if (httpStatus(err) !== undefined) {
    if (typeof e?.Code === 'string') return e.Code;
    return typeof e?.name === 'string' ? e.name : undefined;
  }
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : undefined;
}

/**
 * The SDK's error made into ours. A service error (an HTTP status) is not kept as the cause: S3's
 * answer can carry the access key id (SignatureDoesNotMatch lists it) and a logger prints causes
 * whole. Network errors, which carry no credentials, are kept.
 */
function s3Error(ctx: Context, op: S3Operation, key: string, err: unknown): S3StoreError {
  const e = err as SdkErrorShape | null;
  const status = httpStatus(err);
  // A HEAD answer has no body, so no S3 error code: the SDK calls it Unknown.
  const rawCode = errorCode(err);
  const code = rawCode === 'Unknown' || rawCode === 'UnknownError' ? undefined : rawCode;
  const requestId = typeof e?.$metadata?.requestId === 'string' ? e.$metadata.requestId : undefined;
  const detail =
    typeof e?.message === 'string' && e.message !== rawCode && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  let what: string;
  if (status === undefined) what = `${code ?? 'error'}${detail}`;
  else if (code !== undefined) what = `${code} (HTTP ${status})${detail}`;
  else if (status === 403)
    what = 'HTTP 403 (no S3 error code in the answer: access denied, or the credentials refused)';
  else what = `HTTP ${status} (no S3 error code in the answer)`;
  return new S3StoreError(`S3 ${op} s3://${ctx.bucket}/${key} at ${ctx.endpointLabel} failed: ${what}`, {
    bucket: ctx.bucket,
    key,
    endpoint: ctx.endpointLabel,
    code,
    httpStatus: status,
    requestId,
    cause: status === undefined ? err : undefined,
  });
}
