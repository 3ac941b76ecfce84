// The search attributes a cell workflow upserts as it goes.
import { describe, expect, it } from 'vitest';
import { searchAttributeUpdates } from '../../src/contract/search-attributes.ts';

const names = (pairs: ReturnType<typeof searchAttributeUpdates>) =>
  Object.fromEntries(pairs.map((p) => [p.key.name, p.value]));

describe('searchAttributeUpdates', () => {
  it('adds CellCorrelationId once the cell is admitted with one, and nothing for a cell without', () => {
    const base = { cellId: 'c1', phase: 'running' as const, hostId: 'h1', outcome: undefined, scheduleId: undefined };
    expect(names(searchAttributeUpdates({ ...base, correlationId: 'pipeline-7' }))).toEqual({
      CellPhase: 'running',
      CellId: 'c1',
      CellHost: 'h1',
      CellCorrelationId: 'pipeline-7',
    });
    expect(names(searchAttributeUpdates(base))).not.toHaveProperty('CellCorrelationId');
  });
});
