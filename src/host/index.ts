export * from './cell-host.ts';
export * from './cgroups.ts';
export * from './config.ts';
export * from './reconciler.ts';
export * from './run-cell.ts';
export type { CellRecord } from './cell-files.ts';
