export * from './cell-host.ts';
export * from './cgroups.ts';
export * from './config.ts';
export * from './reconciler.ts';
export * from './run-cell.ts';
export { SUPERVISOR_SCRIPT } from './supervisor.ts';
export type { CellRecord } from './cell-files.ts';
