// Asks hosts about themselves, and drains or undrains them, through each host's control queue: the
// only way to reach one host's worker through Temporal. A host whose worker is down does not take
// the task in time and is reported as not answering.
import { ActivityFailure, TimeoutFailure, proxyActivities } from '@temporalio/workflow';
import {
  hostControlTaskQueue,
  type HostAnswer,
  type HostControlActivities,
  type HostsWorkflowInput,
} from '../src/contract/index.ts';

export async function hostsWorkflow(input: HostsWorkflowInput): Promise<HostAnswer[]> {
  return Promise.all(
    input.hostIds.map(async (hostId): Promise<HostAnswer> => {
      const host = proxyActivities<HostControlActivities>({
        taskQueue: hostControlTaskQueue(input.taskQueue, hostId),
        scheduleToStartTimeout: '5s',
        startToCloseTimeout: '10s',
        retry: { maximumAttempts: 1 },
        summary: input.setDraining
          ? `${input.setDraining.draining ? 'drain' : 'undrain'} host ${hostId}`
          : `describe host ${hostId}`,
      });
      try {
        const status = input.setDraining ? await host.setHostDraining(input.setDraining) : await host.describeHost();
        return { hostId, status };
      } catch (err) {
        const cause = err instanceof ActivityFailure ? err.cause : err;
        if (cause instanceof TimeoutFailure && cause.timeoutType === 'SCHEDULE_TO_START') {
          return { hostId, error: 'no answer in 5 s: its worker is not running' };
        }
        return { hostId, error: cause instanceof Error ? cause.message : String(cause) };
      }
    }),
  );
}
