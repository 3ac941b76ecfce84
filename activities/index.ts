export { createCellActivities, type CellActivityDeps } from './cell-activities.ts';
export { createPlacementActivities } from './placement.ts';
export type { CellExit, SandboxStarted } from './types.ts';
