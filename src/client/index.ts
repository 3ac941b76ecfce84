export * from './cell-client.ts';
export type { CellResult, CellStatus, CellResultOutcome, CellPhase } from '../shared.ts';
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
export { CELL_OUTCOME_KINDS, SearchAttributesMissingError } from './visibility.ts';
