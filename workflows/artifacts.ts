// One chunk of an artifact in a host's folder store, read by that host's worker on its control queue:
// the only way to reach one host's files through Temporal. A client reads an artifact by running one
// of these per chunk. A host whose worker is down does not take the read in time: that fails at once,
// rather than waiting for a worker that may never come.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, proxyActivities } from '@temporalio/workflow';
import {
  artifactFailureTypes,
  hostControlTaskQueue,
  isArtifactFailureType,
  type ArtifactChunk,
  type ArtifactChunkWorkflowInput,
  type HostControlActivities,
} from '../src/contract/index.ts';

/** How long the host's worker has to take the read: a running worker polls its control queue at once. */
const HOST_ANSWER_SECONDS = 10;

export async function artifactChunkWorkflow(input: ArtifactChunkWorkflowInput): Promise<ArtifactChunk> {
  const { hostId, location, offset, length } = input;
  const host = proxyActivities<HostControlActivities>({
    taskQueue: hostControlTaskQueue(input.taskQueue, hostId),
    scheduleToStartTimeout: `${HOST_ANSWER_SECONDS}s`,
    startToCloseTimeout: '30s',
    // A second try for a disk hiccup; what a retry cannot fix is non-retryable from the activity.
    retry: { maximumAttempts: 2, initialInterval: '1s' },
    summary: `read ${length} bytes at ${offset} of ${location} on host ${hostId}`,
  });
  try {
    return await host.readArtifact({ location, offset, length });
  } catch (err) {
    throw toReadFailure(hostId, err);
  }
}

/**
 * The workflow's failure for a failed read: an ApplicationFailure always (any other error would fail
 * the workflow task and retry it for ever), of a type the client tells apart.
 */
function toReadFailure(hostId: string, err: unknown): ApplicationFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START') {
    return ApplicationFailure.nonRetryable(
      `host ${hostId} did not answer in ${HOST_ANSWER_SECONDS} s: its worker is not running, and the artifact is in its folder store`,
      artifactFailureTypes.hostUnavailable,
    );
  }
  if (cause instanceof ApplicationFailure && isArtifactFailureType(cause.type)) {
    return ApplicationFailure.create({ type: cause.type, message: cause.message, nonRetryable: true });
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return ApplicationFailure.nonRetryable(
    `host ${hostId} failed to read the artifact: ${message}`,
    artifactFailureTypes.readFailed,
  );
}
