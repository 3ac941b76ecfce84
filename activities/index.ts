export { createCellActivities, type CellActivityDeps } from './cell-activities.ts';
export { createPlacementActivities } from './placement.ts';
export type { CellExit, SandboxExit, SandboxProgress } from './types.ts';
export type { Admission } from './placement.ts';
