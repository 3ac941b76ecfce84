export { createCellActivities, type CellActivityDeps } from './cell-activities.ts';
export { createAdmissionActivities } from './admission.ts';
export { noopCellMetrics, type CellMetrics, type MeasuredPhase } from './metrics.ts';
export { createClaimActivity, CLAIM_HOLD_MS, HOST_FULL, type ClaimDeps } from './claim.ts';
export { createHostControlActivities, type HostControlDeps } from './host-control.ts';
