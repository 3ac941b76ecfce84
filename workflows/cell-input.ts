// The cell workflow's input as any Temporal client may send it: `{"document": {...}}` with the other
// fields optional, or the bare CellOS document (the Temporal CLI, the UI's Start Workflow form, a
// Python or Go program). Checked in the workflow's first activation, before anything is recorded:
// an input that is neither fails at once, naming what is wrong, and never hangs.
import type { CellWorkflowInput } from '../src/contract/index.ts';

/** The input, or what is wrong with it. */
export function cellInputOf(raw: unknown): CellWorkflowInput | { readonly problem: string } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      problem: `the input is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}: give {"document": <CellOS ExecutionCell document>}, or the document itself`,
    };
  }
  const fields = raw as Record<string, unknown>;
  if (!Object.hasOwn(fields, 'document')) {
    // A bare document: the schema (admission) says what is wrong with it, if anything.
    if (['apiVersion', 'kind', 'spec'].some((k) => Object.hasOwn(fields, k))) return { document: raw };
    return {
      problem: `the input has no "document" and is not a CellOS document (no apiVersion, kind or spec): give {"document": <CellOS ExecutionCell document>}`,
    };
  }
  const optional: [string, string, (v: unknown) => boolean][] = [
    ['taskQueue', 'a non-empty string', (v) => typeof v === 'string' && v !== ''],
    ['scheduleId', 'a string', (v) => typeof v === 'string'],
    [
      'hostScheduleToStartSeconds',
      'a whole number of seconds >= 1',
      (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1,
    ],
    ['indexed', 'true or false', (v) => typeof v === 'boolean'],
  ];
  for (const [name, what, ok] of optional) {
    const v = fields[name];
    if (v !== undefined && v !== null && !ok(v)) {
      return { problem: `input.${name} must be ${what} or absent, not ${JSON.stringify(v) ?? typeof v}` };
    }
  }
  const drop = (name: string) => (fields[name] === null ? undefined : fields[name]);
  return {
    document: fields.document,
    taskQueue: drop('taskQueue') as string | undefined,
    scheduleId: drop('scheduleId') as string | undefined,
    hostScheduleToStartSeconds: drop('hostScheduleToStartSeconds') as number | undefined,
    indexed: drop('indexed') as boolean | undefined,
  } as CellWorkflowInput;
}
