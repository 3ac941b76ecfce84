// From any error a command throws to the exit code and the one message the user sees. Our errors are
// told apart with instanceof, against classes imported from modules that load neither the Temporal
// SDK nor execa (main.ts loads this file before any command: `cellos bundle` must stay light).
import { BundleConfigError } from '../bundle/errors.ts';
import {
  ArtifactReadError,
  CellAlreadyRunningError,
  CellArtifactsUnavailableError,
  CellFailedError,
} from '../client/errors.ts';
import { SearchAttributesMissingError } from '../client/cell-query.ts';
import { ScheduleOptionsError } from '../client/schedule-options.ts';
import { ConfigError } from '../config-error.ts';
import { FAILURE_KIND, failureTypeOf, isCellFailureType } from '../contract/index.ts';
import { DenoPermissionError, deniedPermission } from '../deno-permissions.ts';
import { CellDocumentError } from '../document/errors.ts';
import { RootfsError } from '../rootfs/errors.ts';
import { UnsupportedPlatformError } from '../runsc/errors.ts';
import { TemporalCliNotFoundError } from '../temporal/cli.ts';
import { CliExit, EXIT, failure, validationError } from './exit.ts';

export function toCliExit(err: unknown): CliExit {
  if (err instanceof CliExit) return err;
  if (!(err instanceof Error)) return failure(`unexpected error: ${String(err)}`, err);
  if (err instanceof DenoPermissionError) return new CliExit(EXIT.usage, err.message, { cause: err });
  const denied = deniedPermission(err);
  if (denied !== undefined) {
    // Deno's own message names the permission, the path or address, and the flag that grants it.
    return new CliExit(EXIT.usage, `Deno refused: ${denied.message} (docs/deno.md: the permissions of each command)`, {
      cause: err,
    });
  }
  if (err instanceof CellDocumentError) {
    return validationError(
      'invalid cell document:',
      err.problems.map((p) => `${p.path}: ${p.message}`),
    );
  }
  if (err instanceof BundleConfigError || err instanceof RootfsError) {
    // The host refuses the document (mount not allowed, missing secret, unusable rootfs). A rootfs the
    // host itself failed to prepare (permissions, disk full) is no refusal: it declares no failure type.
    if (failureTypeOf(err) === undefined) return failure(`the host failed to prepare the cell: ${err.message}`, err);
    return validationError(`the host refuses this document: ${err.message}`);
  }
  if (err instanceof ConfigError) return new CliExit(EXIT.usage, `configuration: ${err.message}`, { cause: err });
  if (err instanceof ScheduleOptionsError) return new CliExit(EXIT.usage, err.message, { cause: err });
  if (err instanceof CellFailedError) {
    if (isCellFailureType(err.type) && FAILURE_KIND[err.type] === 'refused') {
      return validationError(`the cell was refused (${err.type}): ${err.message}`);
    }
    return failure(`the cell workflow failed${err.type ? ` (${err.type})` : ''}: ${err.message}`, err);
  }
  if (
    err instanceof CellAlreadyRunningError ||
    err instanceof CellArtifactsUnavailableError ||
    err instanceof ArtifactReadError ||
    err instanceof SearchAttributesMissingError ||
    err instanceof TemporalCliNotFoundError ||
    err instanceof UnsupportedPlatformError
  ) {
    return failure(err.message, err);
  }
  return temporalExit(err) ?? failure(`${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`, err);
}

/** The SDK's errors a command may meet, or undefined for any other error. */
function temporalExit(err: Error): CliExit | undefined {
  // By name: importing @temporalio/client for instanceof would load it (and its gRPC stack) into every
  // command, `cellos bundle` and `cellos exec` included, only to tell its errors apart.
  const e = err as Error & { readonly scheduleId?: string };
  switch (e.name) {
    case 'ScheduleNotFoundError':
      return failure(`no schedule ${e.scheduleId ?? ''} in this namespace (\`cellos schedule list\` lists them)`, err);
    case 'ScheduleAlreadyRunning':
      return failure(
        `schedule ${e.scheduleId ?? ''} already exists (\`cellos schedule delete ${e.scheduleId ?? '<id>'}\` first to replace it)`,
        err,
      );
    case 'ServiceError':
    case 'TransportError':
    case 'ConnectionError': {
      // The SDK's message says what it tried; its cause (the gRPC error) says why.
      const why = e.cause instanceof Error ? `: ${e.cause.message.split('\n')[0]}` : '';
      return failure(`Temporal: ${e.message}${why}`, err);
    }
    default:
      return undefined;
  }
}
