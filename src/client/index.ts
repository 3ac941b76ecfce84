export * from './cell-client.ts';
export type { CellResult, CellStatus, CellResultOutcome, CellPhase } from '../contract/index.ts';
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
