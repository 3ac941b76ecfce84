// The errors CellClient throws of its own (beside CellDocumentError, SearchAttributesMissingError and
// ScheduleOptionsError, which live with what they check). Pure: the CLI tells them apart with
// instanceof without loading the Temporal client.
import { cellWorkflowId } from '../contract/index.ts';

/**
 * Thrown by CellClient.start (and run) when a workflow for this cell id is already running: one
 * running cell per id. Wait for it to end, or kill it, before starting the id again.
 */
export class CellAlreadyRunningError extends Error {
  override readonly name = 'CellAlreadyRunningError';
  readonly cellId: string;
  constructor(cellId: string) {
    super(
      `cell ${cellId} is already running (workflow ${cellWorkflowId(cellId)}); wait for it to finish or kill it first`,
    );
    this.cellId = cellId;
  }
}

/**
 * Thrown by CellRun.result (and CellClient.run) when the cell workflow failed instead of completing
 * with an outcome. `type` is the workflow's failure type: one of the contract's `failureTypes` (see
 * FAILURE_KIND for whether the document was refused or the infrastructure failed), or undefined for a
 * failure without one.
 */
export class CellFailedError extends Error {
  override readonly name = 'CellFailedError';
  readonly cellId: string;
  readonly type: string | undefined;
  constructor(cellId: string, type: string | undefined, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.cellId = cellId;
    this.type = type;
  }
}

/**
 * Thrown by CellClient.artifacts when a cell has no artifacts to give yet or at all: it is still
 * running (they are collected when its workload ends), or it ended without a result.
 */
export class CellArtifactsUnavailableError extends Error {
  override readonly name = 'CellArtifactsUnavailableError';
  readonly cellId: string;
  constructor(cellId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.cellId = cellId;
  }
}

/**
 * Thrown by CellClient.readArtifact when an artifact cannot be read, or what was read is not what
 * was stored. `type` is one of the contract's artifactFailureTypes (ArtifactNotStored: expired;
 * ArtifactHostUnavailable: its host's worker is down; ...), or ArtifactCorrupt for a sha256 or size
 * that does not match the record.
 */
export class ArtifactReadError extends Error {
  override readonly name = 'ArtifactReadError';
  readonly location: string;
  readonly type: string;
  constructor(location: string, type: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.location = location;
    this.type = type;
  }
}

/** ArtifactReadError's type when the bytes read do not have the record's size or sha256. */
export const ARTIFACT_CORRUPT = 'ArtifactCorrupt';
