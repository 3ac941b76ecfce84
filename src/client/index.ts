export * from './cell-client.ts';
export type {
  ArtifactRecord,
  CellResult,
  CellStatus,
  CellResultOutcome,
  CellPhase,
  RefusedArtifact,
} from '../contract/index.ts';
export { ARTIFACT_CORRUPT } from './errors.ts';
export { ARTIFACT_CHUNK_MAX_BYTES, artifactFailureTypes } from '../contract/index.ts';
export type { LogChunk, FollowOptions } from './logs.ts';
export {
  CellSchedules,
  OVERLAP_POLICIES,
  ScheduleOptionsError,
  type CellScheduleDescription,
  type CellScheduleRun,
  type CellScheduleSummary,
  type CreateScheduleOptions,
  type OverlapPolicy,
} from './schedules.ts';
export { SearchAttributesMissingError } from './visibility.ts';
export { CELL_OUTCOME_KINDS } from '../cell/outcome.ts';
export { ValidCell } from './valid-cell.ts';
