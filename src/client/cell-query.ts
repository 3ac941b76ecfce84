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
export function cellQuery(
  filter: CellFilter,
  indexed: boolean,
  namespace: string,
  /** With payload keys: the blind-index tokens filter.correlationId is indexed under (one per key). */
  correlationTokens?: readonly string[],
): string {
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
  // Clauses only the cell search attributes can answer.
  const tokens = correlationTokens?.map(quote).join(', ');
  const needAttributes: [string, string | undefined][] = [
    ['outcome', filter.outcome === undefined ? undefined : `${sa.outcome.name} = ${quote(filter.outcome)}`],
    ['host', filter.hostId === undefined ? undefined : `${sa.host.name} = ${quote(filter.hostId)}`],
    [
      'exit code',
      filter.exitCode === undefined ? undefined : `${sa.exitCode.name} = ${String(Math.trunc(filter.exitCode))}`,
    ],
    [
      'correlation id',
      filter.correlationId === undefined
        ? undefined
        : tokens
          ? `${sa.correlationId.name} IN (${tokens})`
          : `${sa.correlationId.name} = ${quote(filter.correlationId)}`,
    ],
  ];
  for (const [what, clause] of needAttributes) {
    if (clause === undefined) continue;
    if (!indexed) throw new SearchAttributesMissingError(namespace, `filtering by ${what}`);
    parts.push(clause);
  }
  if (filter.query) parts.push(`(${filter.query})`);
  return parts.join(' AND ');
}

/** A value in a visibility query. Refuses what the query language could misread. */
export function quote(value: string): string {
  if (/['"\\\n]/.test(value)) throw new TypeError(`${JSON.stringify(value)} cannot be used in a visibility query`);
  return `'${value}'`;
}
