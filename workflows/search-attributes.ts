// Typed search attribute keys the cell workflow keeps current (registered by the dev server at
// start; on a cluster, see the README). Imported from @temporalio/common: from
// @temporalio/workflow they bundle but fail at run time.
import { defineSearchAttributeKey, type SearchAttributeUpdatePair } from '@temporalio/common';
import type { CellPhase, CellResultOutcome } from '../src/shared.ts';

export const CellIdKey = defineSearchAttributeKey('CellId', 'KEYWORD');
export const CellPhaseKey = defineSearchAttributeKey('CellPhase', 'KEYWORD');
export const CellOutcomeKey = defineSearchAttributeKey('CellOutcome', 'KEYWORD');
export const CellExitCodeKey = defineSearchAttributeKey('CellExitCode', 'INT');
export const CellHostKey = defineSearchAttributeKey('CellHost', 'KEYWORD');
export const CellScheduleIdKey = defineSearchAttributeKey('CellScheduleId', 'KEYWORD');

export function searchAttributeUpdates(s: {
  cellId: string;
  phase: CellPhase;
  hostId: string | undefined;
  outcome: CellResultOutcome | undefined;
  scheduleId: string | undefined;
}): SearchAttributeUpdatePair[] {
  const pairs: SearchAttributeUpdatePair[] = [{ key: CellPhaseKey, value: s.phase }];
  if (s.cellId) pairs.push({ key: CellIdKey, value: s.cellId });
  if (s.hostId) pairs.push({ key: CellHostKey, value: s.hostId });
  if (s.scheduleId) pairs.push({ key: CellScheduleIdKey, value: s.scheduleId });
  if (s.outcome) {
    pairs.push({ key: CellOutcomeKey, value: s.outcome.kind });
    const code =
      s.outcome.kind === 'exited' ? s.outcome.code : s.outcome.kind === 'deadline' ? s.outcome.exitCode : undefined;
    if (code !== undefined) pairs.push({ key: CellExitCodeKey, value: code });
  }
  return pairs;
}
