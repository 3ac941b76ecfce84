// The SDK's own lines about a host activity ("Activity failed", and anything logged through the
// activity's context logger) carry the same cellId, hostId and phase as our lines about the cell.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { PHASE_OF_HOST_ACTIVITY, type SandboxRef } from '../contract/index.ts';

export function cellLogAttributes(hostId: string): ActivityInterceptorsFactory {
  return (ctx) => {
    const phase = (PHASE_OF_HOST_ACTIVITY as Readonly<Record<string, string>>)[ctx.info.activityType];
    let cellId: string | undefined;
    return {
      inbound: {
        execute(input, next) {
          // Every host activity's input is a SandboxRef; its cellId is only a label here.
          const ref = input.args[0] as Partial<SandboxRef> | undefined;
          cellId = typeof ref?.cellId === 'string' ? ref.cellId : undefined;
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
