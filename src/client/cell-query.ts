// Visibility queries for cells: a filter in, the query string out. Pure: the CLI checks its flags
// with these without loading the Temporal client.
import {
  CELL_WORKFLOW_TYPE,
  SCHEDULED_BY_ID,
  cellWorkflowId,
  searchAttributes as sa,
  SEARCH_ATTRIBUTES,
} from '../contract/index.ts';

export interface CellFilter {
  readonly cellId?: string | undefined;
  /** An outcome kind: exited, oom, deadline, ... */
  readonly outcome?: string | undefined;
  readonly exitCode?: number | undefined;
  readonly hostId?: string | undefined;
  readonly scheduleId?: string | undefined;
  /** spec.correlation.correlationId: every cell of one pipeline run. */
  readonly correlationId?: string | undefined;
  /** Only cells whose workflow is still running. */
  readonly running?: boolean | undefined;
  /** A Temporal visibility query, added with AND. */
  readonly query?: string | undefined;
}

/**
 * A filter the namespace cannot answer: it lacks the cell search attributes. Thrown by
 * CellClient.list (and the CLI's ps) for a filter on outcome, host or exit code.
 */
export class SearchAttributesMissingError extends Error {
  override readonly name = 'SearchAttributesMissingError';
  constructor(namespace: string, filter: string) {
    super(
      `${filter} needs the cell search attributes (${SEARCH_ATTRIBUTES.map((a) => a.name).join(', ')}), which namespace ${namespace} ` +
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
      indexed ? `${sa.cellId.name} = ${quote(filter.cellId)}` : `WorkflowId = ${quote(cellWorkflowId(filter.cellId))}`,
    );
  }
  if (filter.scheduleId !== undefined) {
    parts.push(`${indexed ? sa.scheduleId.name : SCHEDULED_BY_ID} = ${quote(filter.scheduleId)}`);
  }
  const needAttributes: [string, string, string | undefined][] = [
    ['outcome', sa.outcome.name, filter.outcome === undefined ? undefined : quote(filter.outcome)],
    ['host', sa.host.name, filter.hostId === undefined ? undefined : quote(filter.hostId)],
    ['exit code', sa.exitCode.name, filter.exitCode === undefined ? undefined : String(Math.trunc(filter.exitCode))],
    [
      'correlation id',
      sa.correlationId.name,
      filter.correlationId === undefined ? undefined : quote(filter.correlationId),
    ],
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
