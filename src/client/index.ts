export * from './cell-client.ts';
export type { CellResult, CellStatus, CellResultOutcome, CellPhase } from '../shared.ts';
export type { LogChunk, FollowOptions } from './logs.ts';
