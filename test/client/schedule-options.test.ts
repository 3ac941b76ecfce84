// The pure parts of schedules and listing: durations, option checks, visibility queries.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/client/durations.ts';
import { checkScheduleId, normalizeScheduleOptions, ScheduleOptionsError } from '../../src/client/schedule-options.ts';
import { cellQuery, quote, SearchAttributesMissingError } from '../../src/client/cell-query.ts';
import { cellIdFromWorkflowId } from '../../src/contract/index.ts';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1d2h3m4s', 93_784_000],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(text);
  });

  it.each(['', '5', '1.5m', '5 m', 'm', '1m1h', '-1s', '10ms'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('schedule options', () => {
  it('defaults to overlap skip, not paused', () => {
    expect(normalizeScheduleOptions({ every: '5m' })).toEqual({
      cron: [],
      everyMs: 300_000,
      overlap: 'skip',
      catchupWindowMs: undefined,
      timezone: undefined,
      paused: false,
      note: undefined,
    });
    expect(normalizeScheduleOptions({ cron: '0 * * * *', catchupWindow: '10m', timezone: 'UTC' })).toMatchObject({
      cron: ['0 * * * *'],
      catchupWindowMs: 600_000,
      timezone: 'UTC',
    });
  });

  it.each([
    [{}, 'cron', /neither was given/],
    [{ cron: [] }, 'cron', /at least one expression/],
    [{ cron: ' ' }, 'cron', /is empty/],
    [{ cron: '* * * * *', every: '1m' }, 'cron', /not both/],
    [{ every: '0s' }, 'every', /at least 1s/],
    [{ every: '1m', overlap: 'terminate-other' }, 'overlap', /skips its cleanup/],
    [{ every: '1m', overlap: 'sometimes' }, 'overlap', /must be one of skip, buffer-one/],
    [{ every: '1m', catchupWindow: '5s' }, 'catchupWindow', /at least 10s/],
    [{ every: '1m', timezone: 'Nowhere/Land' }, 'timezone', /not an IANA time zone/],
  ])('refuses %j naming %s', (opts, option, message) => {
    let err: unknown;
    try {
      normalizeScheduleOptions(opts as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScheduleOptionsError);
    expect((err as ScheduleOptionsError).option).toBe(option);
    expect((err as Error).message).toMatch(message);
  });

  it('takes schedule ids that are safe in a visibility query', () => {
    expect(checkScheduleId('nightly-build.1')).toBe('nightly-build.1');
    for (const bad of ['', "x'y", 'a b', '-x', 'x'.repeat(201)]) {
      expect(() => checkScheduleId(bad)).toThrow(ScheduleOptionsError);
    }
  });
});

describe('visibility queries', () => {
  it('uses the cell search attributes when the namespace has them', () => {
    expect(
      cellQuery({ cellId: 'c', outcome: 'oom', exitCode: 3, hostId: 'h', scheduleId: 's', running: true }, true, 'ns'),
    ).toBe(
      "WorkflowType = 'cellWorkflow' AND ExecutionStatus = 'Running' AND CellId = 'c' AND CellScheduleId = 's' " +
        "AND CellOutcome = 'oom' AND CellHost = 'h' AND CellExitCode = 3",
    );
    expect(cellQuery({ query: "A = 'x' OR B = 'y'" }, true, 'ns')).toBe(
      "WorkflowType = 'cellWorkflow' AND (A = 'x' OR B = 'y')",
    );
  });

  it("falls back to Temporal's own attributes, and refuses what needs the cell ones", () => {
    expect(cellQuery({ cellId: 'c', scheduleId: 's' }, false, 'ns')).toBe(
      "WorkflowType = 'cellWorkflow' AND WorkflowId = 'cell-c' AND TemporalScheduledById = 's'",
    );
    expect(() => cellQuery({ hostId: 'h' }, false, 'ns')).toThrow(SearchAttributesMissingError);
    expect(() => cellQuery({ outcome: 'oom' }, false, 'ns')).toThrow(/filtering by outcome .* namespace ns/);
  });

  it('finds the cells of one correlation id by CellCorrelationId, which needs the cell attributes', () => {
    expect(cellQuery({ correlationId: 'run 42/a' }, true, 'ns')).toBe(
      "WorkflowType = 'cellWorkflow' AND CellCorrelationId = 'run 42/a'",
    );
    expect(() => cellQuery({ correlationId: 'x' }, false, 'ns')).toThrow(/filtering by correlation id .* namespace ns/);
    expect(() => cellQuery({ correlationId: "x' OR 1=1" }, true, 'ns')).toThrow(/cannot be used in a visibility query/);
    expect(cellQuery({ correlationId: 'x' }, true, 'ns', ['hmac-sha256:a:01', 'hmac-sha256:b:02'])).toBe(
      "WorkflowType = 'cellWorkflow' AND CellCorrelationId IN ('hmac-sha256:a:01', 'hmac-sha256:b:02')",
    );
  });

  it('refuses values the query language could misread', () => {
    expect(() => quote("x' OR 'a' = 'a")).toThrow(TypeError);
    expect(() => cellQuery({ hostId: "h'" }, true, 'ns')).toThrow(TypeError);
  });

  it('reads the cell id from a workflow id, with or without the time a schedule appends', () => {
    expect(cellIdFromWorkflowId('cell-build-42', false)).toBe('build-42');
    expect(cellIdFromWorkflowId('cell-build-42-2026-01-02T03:04:05Z', true)).toBe('build-42');
  });
});
