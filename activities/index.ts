export { createCellActivities, type CellActivityDeps } from './cell-activities.ts';
export { createAdmissionActivities } from './admission.ts';
export { noopCellMetrics, type CellMetrics, type MeasuredPhase } from './metrics.ts';
