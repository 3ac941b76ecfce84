// The hosts of a cluster, as Temporal knows them: every host's worker polls the shared queue with an
// identity that advertises the host (src/placement/host-ad.ts), so the server's list of that queue's
// pollers is the list of hosts, with when each last asked for work. Their current room and drain
// state come from the hosts themselves, through the hosts workflow on their control queues.
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowService } from '@temporalio/client';
// Default import: the package is CommonJS, and Deno and Node agree only on its default export.
import proto from '@temporalio/proto';
import { HOSTS_WORKFLOW_TYPE, type HostAnswer, type HostsWorkflowInput, type HostStatus } from '../contract/index.ts';
import { parseHostIdentity, type HostAd } from '../placement/host-ad.ts';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

export interface SeenHost extends HostAd {
  /** When its worker last polled the shared queue (the server keeps a few minutes of this). */
  readonly lastSeen: Date | undefined;
}

/** Hosts whose workers poll `taskQueue` now or did lately, one entry per host (the latest poll). */
export async function seenHosts(service: WorkflowService, namespace: string, taskQueue: string): Promise<SeenHost[]> {
  const res = await service.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const hosts = new Map<string, SeenHost>();
  for (const poller of res.pollers ?? []) {
    const ad = parseHostIdentity(poller.identity ?? '');
    if (!ad) continue;
    const t = poller.lastAccessTime;
    const lastSeen =
      t?.seconds != null ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)) : undefined;
    const before = hosts.get(ad.hostId);
    if (!before || (lastSeen && (!before.lastSeen || lastSeen > before.lastSeen)))
      hosts.set(ad.hostId, { ...ad, lastSeen });
  }
  return [...hosts.values()].sort((a, b) => a.hostId.localeCompare(b.hostId));
}

export interface HostRow {
  readonly hostId: string;
  readonly seen: SeenHost | undefined;
  readonly status: HostStatus | undefined;
  readonly error: string | undefined;
}

/**
 * Every host seen on the shared queue (and any named in `hostIds`), with its own description; with
 * `setDraining`, each named host is drained or undrained first.
 */
export async function describeHosts(
  client: Client,
  taskQueue: string,
  opts: { hostIds?: readonly string[]; setDraining?: HostsWorkflowInput['setDraining'] } = {},
): Promise<HostRow[]> {
  const seen = await seenHosts(client.workflowService, client.options.namespace, taskQueue);
  const ids = opts.hostIds ?? seen.map((h) => h.hostId);
  const input: HostsWorkflowInput = { taskQueue, hostIds: [...ids], setDraining: opts.setDraining };
  const answers =
    ids.length === 0
      ? []
      : await client.workflow.execute<(i: HostsWorkflowInput) => Promise<HostAnswer[]>>(HOSTS_WORKFLOW_TYPE, {
          taskQueue,
          workflowId: `cellos-hosts-${randomUUID()}`,
          args: [input],
          workflowExecutionTimeout: '1m',
        });
  return ids.map((hostId) => {
    const a = answers.find((x) => x.hostId === hostId);
    return { hostId, seen: seen.find((h) => h.hostId === hostId), status: a?.status, error: a?.error };
  });
}
