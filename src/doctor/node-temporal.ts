// The TemporalProbe of a real client: the server the client commands talk to (TEMPORAL_ADDRESS, or
// the local dev server), reached with the same settings (TLS, API key) as they reach it.
import { Connection, isGrpcServiceError } from '@temporalio/client';
// Default import: the package is CommonJS, and Deno and Node agree only on its default export.
import proto from '@temporalio/proto';
import { isListening } from '../temporal/dev-server.ts';
import type { ClientConfig, TemporalConnectionConfig } from '../worker/config.ts';
import { tlsOptions } from '../worker/connection.ts';
import { embeddedServerSettings } from '../worker/embedded.ts';
import type { TemporalProbe, TemporalSession } from './temporal-checks.ts';

const { IndexedValueType, TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

type Env = Readonly<Record<string, string | undefined>>;

export function nodeTemporalProbe(cfg: ClientConfig, env: Env): TemporalProbe {
  const embedded = cfg.temporal.address === undefined;
  const local = embedded ? embeddedServerSettings(env) : undefined;
  const address = cfg.temporal.address ?? `${local!.ip}:${local!.port}`;
  // As src/cli/temporal.ts resolves it: the local dev server speaks plain gRPC, remote credentials do not apply.
  const connection: TemporalConnectionConfig = embedded
    ? { ...cfg.temporal, tls: false, apiKey: undefined }
    : cfg.temporal;
  const { namespace } = cfg.temporal;
  return {
    address,
    namespace,
    embedded,
    listening() {
      const i = address.lastIndexOf(':');
      return isListening(address.slice(0, i), Number(address.slice(i + 1)));
    },
    async connect(timeoutMs) {
      const conn = await Connection.connect({
        address,
        tls: await tlsOptions(connection),
        apiKey: connection.apiKey,
        connectTimeout: timeoutMs,
      });
      const call = <R>(fn: () => Promise<R>) => conn.withDeadline(Date.now() + timeoutMs, fn);
      const session: TemporalSession = {
        async serverVersion() {
          const info = await call(() => conn.workflowService.getSystemInfo({}));
          return info.serverVersion || undefined;
        },
        hasNamespace: () =>
          call(() => conn.workflowService.describeNamespace({ namespace })).then(
            () => true,
            (err: unknown) => {
              if (isGrpcServiceError(err) && err.code === 5 /* NOT_FOUND */) return false;
              throw err;
            },
          ),
        async searchAttributes() {
          const res = await call(() => conn.operatorService.listSearchAttributes({ namespace }));
          return Object.fromEntries(
            Object.entries(res.customAttributes ?? {}).map(([name, type]) => [name, typeName(type)]),
          );
        },
        async activityPollers(taskQueue) {
          const res = await call(() =>
            conn.workflowService.describeTaskQueue({
              namespace,
              taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
              taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            }),
          );
          return (res.pollers ?? []).map((p) => {
            const t = p.lastAccessTime;
            const lastAccessTime =
              t?.seconds != null ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)) : undefined;
            return { identity: p.identity || '?', lastAccessTime };
          });
        },
        close: () => conn.close(),
      };
      return session;
    },
  };
}

/** INDEXED_VALUE_TYPE_KEYWORD -> Keyword, as `temporal operator search-attribute` spells types. */
function typeName(type: number): string {
  const word = (IndexedValueType[type] ?? String(type)).replace(/^INDEXED_VALUE_TYPE_/, '');
  return word
    .split('_')
    .map((w) => w.charAt(0) + w.slice(1).toLowerCase())
    .join('');
}
