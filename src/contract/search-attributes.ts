// Typed keys of the cell search attributes and the updates the workflow makes. Imported from
// @temporalio/common: from @temporalio/workflow they bundle but fail at run time.
import { defineSearchAttributeKey, type SearchAttributeUpdatePair } from '@temporalio/common';
import { exitCodeOf, type CellResultOutcome } from '../cell/outcome.ts';
import { SCHEDULED_BY_ID, searchAttributes as sa } from './names.ts';
import type { CellPhase } from './types.ts';

export const CellIdKey = defineSearchAttributeKey(sa.cellId.name, 'KEYWORD');
export const CellPhaseKey = defineSearchAttributeKey(sa.phase.name, 'KEYWORD');
export const CellOutcomeKey = defineSearchAttributeKey(sa.outcome.name, 'KEYWORD');
export const CellExitCodeKey = defineSearchAttributeKey(sa.exitCode.name, 'INT');
export const CellHostKey = defineSearchAttributeKey(sa.host.name, 'KEYWORD');
export const CellScheduleIdKey = defineSearchAttributeKey(sa.scheduleId.name, 'KEYWORD');
export const CellCorrelationIdKey = defineSearchAttributeKey(sa.correlationId.name, 'KEYWORD');
export const ScheduledByIdKey = defineSearchAttributeKey(SCHEDULED_BY_ID, 'KEYWORD');

export function searchAttributeUpdates(s: {
  cellId: string;
  phase: CellPhase;
  hostId: string | undefined;
  outcome: CellResultOutcome | undefined;
  scheduleId: string | undefined;
  correlationId?: string | undefined;
}): SearchAttributeUpdatePair[] {
  const pairs: SearchAttributeUpdatePair[] = [{ key: CellPhaseKey, value: s.phase }];
  if (s.cellId) pairs.push({ key: CellIdKey, value: s.cellId });
  if (s.hostId) pairs.push({ key: CellHostKey, value: s.hostId });
  if (s.scheduleId) pairs.push({ key: CellScheduleIdKey, value: s.scheduleId });
  if (s.correlationId) pairs.push({ key: CellCorrelationIdKey, value: s.correlationId });
  if (s.outcome) {
    pairs.push({ key: CellOutcomeKey, value: s.outcome.kind });
    const code = exitCodeOf(s.outcome);
    if (code !== undefined) pairs.push({ key: CellExitCodeKey, value: code });
  }
  return pairs;
}
