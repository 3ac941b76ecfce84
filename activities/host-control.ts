// What a host says about itself and how it is drained, on its control queue (see workflows/hosts.ts),
// and the artifacts its folder store keeps, a chunk at a time (see workflows/artifacts.ts).
import { ApplicationFailure } from '@temporalio/activity';
import { ArtifactNotStored, ArtifactOnAnotherHost } from '../src/artifacts/errors.ts';
import { parseArtifactLocation } from '../src/artifacts/location.ts';
import type { ArtifactStore } from '../src/artifacts/store.ts';
import {
  ARTIFACT_CHUNK_MAX_BYTES,
  artifactFailureTypes,
  type ArtifactChunk,
  type ArtifactChunkRequest,
  type HostControlActivities,
  type HostStatus,
} from '../src/contract/index.ts';
import type { HostDrain } from '../src/host/drain.ts';
import type { HostRoom } from '../src/host/room.ts';
import type { Labels } from '../src/placement/labels.ts';

export interface HostControlDeps {
  readonly hostId: string;
  readonly labels: Labels;
  readonly room: HostRoom;
  readonly drain: HostDrain;
  readonly isStopping: () => boolean;
  readonly process: string;
  readonly startedAt: string;
  /** Where this host's cells' artifacts are (CellHost.artifactStore): reads are served from it when it is a folder. */
  readonly artifactStore: ArtifactStore;
}

export function createHostControlActivities(deps: HostControlDeps): HostControlActivities {
  const status = (): HostStatus => {
    const use = deps.room.use();
    return {
      hostId: deps.hostId,
      labels: deps.labels,
      maxCells: deps.room.limits.maxCells,
      memoryBudgetBytes: deps.room.limits.memoryBudgetBytes,
      cells: use.cells,
      memoryInUseBytes: use.memoryBytes,
      mostCells: deps.room.highWater().cells,
      mostMemoryBytes: deps.room.highWater().memoryBytes,
      draining: deps.drain.current(),
      stopping: deps.isStopping(),
      process: deps.process,
      startedAt: deps.startedAt,
    };
  };
  return {
    describeHost: () => Promise.resolve(status()),
    async setHostDraining({ draining, reason }) {
      await deps.drain.set(draining ? reason || 'drained by cellos drain' : undefined);
      return status();
    },
    readArtifact: (input) => readArtifact(deps, input),
  };
}

/**
 * Up to `length` bytes of an artifact in this host's folder store. What retrying cannot fix (a bad
 * request, another host's or an S3 location, an artifact expired) is a non-retryable failure whose
 * type says which; a failed read of the disk is left to the retry policy.
 */
async function readArtifact(deps: HostControlDeps, input: ArtifactChunkRequest): Promise<ArtifactChunk> {
  const { location, offset, length } = input;
  const refuse = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });
  for (const [name, value] of [
    ['offset', offset],
    ['length', length],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw refuse(
        artifactFailureTypes.invalidRequest,
        `${name} must be a whole number >= 0, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (length > ARTIFACT_CHUNK_MAX_BYTES) {
    throw refuse(
      artifactFailureTypes.invalidRequest,
      `length ${length} is over ${ARTIFACT_CHUNK_MAX_BYTES} bytes, the most one chunk carries`,
    );
  }
  const where = typeof location === 'string' ? parseArtifactLocation(location) : undefined;
  if (where === undefined) {
    throw refuse(
      artifactFailureTypes.invalidRequest,
      `${JSON.stringify(location)} is not an artifact location (folder:<host id>:<sha256> or s3://<bucket>/<key>)`,
    );
  }
  if (where.kind === 's3') {
    throw refuse(
      artifactFailureTypes.notOnThisHost,
      `artifact ${location} is in S3 bucket ${where.bucket}, not in a host's folder store: read it from the bucket (the client needs CELLOS_ARTIFACTS_S3_* and the AWS credentials)`,
    );
  }
  if (where.hostId !== deps.hostId) {
    throw refuse(
      artifactFailureTypes.notOnThisHost,
      `artifact ${location} is in the folder store of host ${where.hostId}, not of host ${deps.hostId}: only that host's worker can read it`,
    );
  }
  if (deps.artifactStore.kind !== 'folder') {
    throw refuse(
      artifactFailureTypes.notStored,
      `artifact ${location} was kept in host ${deps.hostId}'s folder store, but this host now keeps artifacts in S3 (CELLOS_ARTIFACTS_S3_BUCKET): its folder store is not served`,
    );
  }
  const gone = () =>
    refuse(
      artifactFailureTypes.notStored,
      `artifact ${location} expired or was removed from host ${deps.hostId}'s folder store (it keeps artifacts for CELLOS_ARTIFACTS_RETENTION_SECONDS after they are stored)`,
    );
  try {
    const size = await deps.artifactStore.size(location);
    if (size === undefined) throw gone();
    const bytes = await deps.artifactStore.read(location, offset, length);
    return { base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), size };
  } catch (err) {
    if (err instanceof ArtifactNotStored) throw gone();
    if (err instanceof ArtifactOnAnotherHost) throw refuse(artifactFailureTypes.notOnThisHost, err.message);
    throw err;
  }
}
