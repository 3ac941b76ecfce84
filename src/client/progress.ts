import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { activityNames, type SandboxProgress } from '../contract/index.ts';

/** The run activity's last heartbeat: where the sandbox runs, since when, and its output so far. */
export async function sandboxProgressOf(
  description: WorkflowExecutionDescription,
): Promise<SandboxProgress | undefined> {
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === activityNames.runSandbox);
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  return defaultPayloadConverter.fromPayload<SandboxProgress>(payload);
}
