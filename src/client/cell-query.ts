// Visibility queries for cells: a filter in, the query string out. Pure: the CLI checks its flags
// with these without loading the Temporal client.
import type { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.ts';
import { CELL_WORKFLOW_TYPE, cellWorkflowId, type CellResultOutcome } from '../shared.ts';

/** The cell search attributes by role (checked against the registered names). */
const ATTR = {
  cellId: 'CellId',
  phase: 'CellPhase',
  outcome: 'CellOutcome',
  exitCode: 'CellExitCode',
  host: 'CellHost',
  scheduleId: 'CellScheduleId',
} as const satisfies Record<string, (typeof SEARCH_ATTRIBUTES)[number]['name']>;

/** Set by Temporal on every workflow a schedule starts, registered or not. */
export const SCHEDULED_BY_ID = 'TemporalScheduledById';

/** Every `outcome.kind` a cell can end with (the values of CellOutcome). */
export const CELL_OUTCOME_KINDS = [
  'exited',
  'signaled',
  'oom',
  'deadline',
  'killed',
  'failed',
  'lost',
  'cancelled',
  'host-lost',
] as const satisfies readonly CellResultOutcome['kind'][];

export interface CellFilter {
  readonly cellId?: string | undefined;
  /** An outcome kind: exited, oom, deadline, ... */
  readonly outcome?: string | undefined;
  readonly exitCode?: number | undefined;
  readonly hostId?: string | undefined;
  readonly scheduleId?: string | undefined;
  /** Only cells whose workflow is still running. */
  readonly running?: boolean | undefined;
  /** A Temporal visibility query, added with AND. */
  readonly query?: string | undefined;
}

/** A filter the namespace cannot answer: it lacks the cell search attributes. */
export class SearchAttributesMissingError extends Error {
  override readonly name = 'SearchAttributesMissingError';
  constructor(namespace: string, filter: string) {
    super(
      `${filter} needs the cell search attributes (${Object.values(ATTR).join(', ')}), which namespace ${namespace} ` +
        'does not have; register them (`temporal operator search-attribute create`) and run the cells again',
    );
  }
}

/** The visibility query for cells matching `filter`; `indexed`: the namespace has the cell search attributes. */
export function cellQuery(filter: CellFilter, indexed: boolean, namespace: string): string {
  const parts = [`WorkflowType = ${quote(CELL_WORKFLOW_TYPE)}`];
  if (filter.running) parts.push(`ExecutionStatus = 'Running'`);
  if (filter.cellId !== undefined) {
    // Without the attributes only the cell's own workflow id is known (not the ids of its scheduled runs).
    parts.push(
      indexed ? `${ATTR.cellId} = ${quote(filter.cellId)}` : `WorkflowId = ${quote(cellWorkflowId(filter.cellId))}`,
    );
  }
  if (filter.scheduleId !== undefined) {
    parts.push(`${indexed ? ATTR.scheduleId : SCHEDULED_BY_ID} = ${quote(filter.scheduleId)}`);
  }
  const needAttributes: [string, string, string | undefined][] = [
    ['outcome', ATTR.outcome, filter.outcome === undefined ? undefined : quote(filter.outcome)],
    ['host', ATTR.host, filter.hostId === undefined ? undefined : quote(filter.hostId)],
    ['exit code', ATTR.exitCode, filter.exitCode === undefined ? undefined : String(Math.trunc(filter.exitCode))],
  ];
  for (const [what, attribute, value] of needAttributes) {
    if (value === undefined) continue;
    if (!indexed) throw new SearchAttributesMissingError(namespace, `filtering by ${what}`);
    parts.push(`${attribute} = ${value}`);
  }
  if (filter.query) parts.push(`(${filter.query})`);
  return parts.join(' AND ');
}

/** A value in a visibility query. Refuses what the query language could misread. */
export function quote(value: string): string {
  if (/['"\\\n]/.test(value)) throw new TypeError(`${JSON.stringify(value)} cannot be used in a visibility query`);
  return `'${value}'`;
}

/** `cell-<id>`, or for a run a schedule started, `cell-<id>-<scheduled time>`. */
export function cellIdFromWorkflowId(workflowId: string, scheduled: boolean): string {
  const id = workflowId.replace(/^cell-/, '');
  return scheduled ? id.replace(/-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, '') : id;
}
