// The SDK's own lines about a host activity ("Activity failed", and anything logged through the
// activity's context logger) carry the same cellId, hostId and phase as our lines about the cell.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** The phase each host activity works in, as our log lines name it. */
const PHASE_OF_ACTIVITY: Readonly<Record<string, string>> = {
  runSandbox: 'run',
  killSandbox: 'kill',
  removeSandbox: 'remove',
};

export function cellLogAttributes(hostId: string): ActivityInterceptorsFactory {
  return (ctx) => {
    const phase = PHASE_OF_ACTIVITY[ctx.info.activityType];
    let cellId: string | undefined;
    return {
      inbound: {
        execute(input, next) {
          cellId = cellIdOf(input.args[0]);
          return next(input);
        },
      },
      outbound: {
        getLogAttributes(attributes, next) {
          return next({
            ...attributes,
            ...(cellId === undefined ? {} : { cellId }),
            hostId,
            ...(phase === undefined ? {} : { phase }),
          });
        },
      },
    };
  };
}

/** The cell id in a host activity's input: `{ cellId }` or `{ document: { spec: { id } } }`. */
function cellIdOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const { cellId, document } = input as { cellId?: unknown; document?: { spec?: { id?: unknown } } };
  if (typeof cellId === 'string') return cellId;
  const id = document?.spec?.id;
  return typeof id === 'string' ? id : undefined;
}
