// From any error a command throws to the exit code and the one message the user sees. Errors are
// told apart by name, not instanceof, so that this file loads none of the modules that define them
// (`cellos bundle` must not load the Temporal client).
import { failureTypes } from '../failures.ts';
import { CliExit, EXIT, failure, validationError } from './exit.ts';

interface NamedError extends Error {
  readonly problems?: readonly { path: string; message: string }[];
  readonly type?: string;
  readonly code?: string | number;
  readonly scheduleId?: string;
}

/** Failure types of the cell workflow that mean "this document cannot run here". */
const VALIDATION_FAILURE_TYPES: ReadonlySet<string> = new Set([failureTypes.invalidDocument, failureTypes.rejected]);

export function toCliExit(err: unknown): CliExit {
  if (err instanceof CliExit) return err;
  if (!(err instanceof Error)) return failure(`unexpected error: ${String(err)}`, err);
  const e = err as NamedError;
  switch (e.name) {
    case 'CellDocumentError':
      return validationError(
        'invalid cell document:',
        (e.problems ?? []).map((p) => `${p.path}: ${p.message}`),
      );
    case 'BundleConfigError':
    case 'RootfsError':
      // The host refuses the document (mount not allowed, missing secret, unusable rootfs).
      return validationError(`the host refuses this document: ${e.message}`);
    case 'HostConfigError':
      return new CliExit(EXIT.usage, `configuration: ${e.message}`, { cause: err });
    case 'CellAlreadyRunningError':
    case 'SearchAttributesMissingError':
      return failure(e.message, err);
    case 'ScheduleOptionsError':
      return new CliExit(EXIT.usage, e.message, { cause: err });
    case 'ScheduleNotFoundError':
      return failure(`no schedule ${e.scheduleId ?? ''} in this namespace (\`cellos schedule list\` lists them)`, err);
    case 'ScheduleAlreadyRunning':
      return failure(
        `schedule ${e.scheduleId ?? ''} already exists (\`cellos schedule delete ${e.scheduleId ?? '<id>'}\` first to replace it)`,
        err,
      );
    case 'CellFailedError':
      if (e.type !== undefined && VALIDATION_FAILURE_TYPES.has(e.type)) {
        return validationError(`the cell was refused (${e.type}): ${e.message}`);
      }
      return failure(`the cell workflow failed${e.type ? ` (${e.type})` : ''}: ${e.message}`, err);
    case 'TemporalCliNotFoundError':
    case 'UnsupportedPlatformError':
      return failure(e.message, err);
    case 'ServiceError':
    case 'TransportError':
    case 'ConnectionError': {
      // The SDK's message says what it tried; its cause (the gRPC error) says why.
      const why = e.cause instanceof Error ? `: ${e.cause.message.split('\n')[0]}` : '';
      return failure(`Temporal: ${e.message}${why}`, err);
    }
    default:
      return failure(`${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`, err);
  }
}
