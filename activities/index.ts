export { createCellActivities, type CellActivityDeps } from './cell-activities.ts';
export { createAdmissionActivities } from './admission.ts';
export { noopCellMetrics, type CellMetrics, type MeasuredPhase } from './metrics.ts';
export {
  createClaimActivity,
  createClaimHere,
  CLAIM_HOLD_MS,
  HOST_FULL,
  type ClaimDeps,
  type ClaimHere,
  type ClaimRefusal,
} from './claim.ts';
export { createHostControlActivities, type HostControlDeps } from './host-control.ts';
export {
  createEventActivities,
  CELL_EVENT_DELIVERY_FAILED,
  type CellEventsDelivery,
  type EventActivities,
  type EventActivityDeps,
  type EventDeliveryProgress,
} from './events.ts';
