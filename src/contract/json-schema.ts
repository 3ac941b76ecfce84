// The contract as JSON: JSON Schemas of what a client sends (the document, the input) and receives (the
// result, the status), and a manifest of the names any client needs (workflow type, task queue,
// signals, queries, failure types, search attributes). `cellos schema` prints them; schemas/ holds the
// committed copies that the package ships and a test compares with.
import { z } from 'zod';
import { CellDocument } from '../document/schema.ts';
import { FAILURE_KIND, failureTypes, type CellFailureType } from './failures.ts';
import { CELL_WORKFLOW_TYPE, DEFAULT_TASK_QUEUE, queries, SEARCH_ATTRIBUTES, signals } from './names.ts';
import { schemaFile, type SchemaName } from './schema-names.ts';
import { CellResultSchema, CellStatusSchema, CellWorkflowInputSchema, KillSignalArgsSchema } from './schemas.ts';

export { SCHEMA_NAMES, schemaFile, type SchemaName } from './schema-names.ts';

export const CONTRACT_VERSION = 1;

// What a client sends is described as zod reads it (defaults optional); what it receives also in
// input mode, which leaves objects open: a field added to the result must not fail a client's check.
function jsonSchema(schema: z.ZodType, title: string): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  const { $schema, ...rest } = out;
  return { $schema, title, ...rest };
}

/** One schema (or the manifest) as a JSON value. */
export function contractSchema(name: SchemaName): Record<string, unknown> {
  switch (name) {
    case 'document':
      return jsonSchema(
        CellDocument,
        'CellOS ExecutionCell document (shape only: cellWorkflow also checks paths, limits and what the host allows)',
      );
    case 'input': {
      // The document by reference (schemas/ holds both files side by side), wrapped or bare.
      const { $schema, title, description, ...wrapper } = jsonSchema(CellWorkflowInputSchema, 'cellWorkflow input');
      const document = { $ref: schemaFile('document') };
      const properties = { ...(wrapper.properties as Record<string, unknown>), document };
      return { $schema, title, description, anyOf: [{ ...wrapper, properties }, document] };
    }
    case 'result':
      return jsonSchema(CellResultSchema, 'cellWorkflow result');
    case 'status':
      return jsonSchema(CellStatusSchema, 'status query answer');
    case 'kill':
      return jsonSchema(KillSignalArgsSchema, 'kill signal payload');
    case 'contract':
      return contractManifest();
  }
}

/** The names a client of any language needs, with the schema of each payload. */
function contractManifest(): Record<string, unknown> {
  const meaning: Record<CellFailureType, string> = {
    [failureTypes.invalidDocument]: 'the input or document breaks the schema; nothing touched a host',
    [failureTypes.rejected]: 'the host refused the document (mount, secret, rootfs); nothing left behind',
    [failureTypes.unplaceable]: 'no host of the cluster can ever run it (labels, memory)',
    [failureTypes.infrastructure]: 'runsc or the host failed past every retry',
  };
  return {
    contractVersion: CONTRACT_VERSION,
    workflowType: CELL_WORKFLOW_TYPE,
    workflowId: 'cell-<spec.id> by convention (one running cell per id); any id works',
    defaultTaskQueue: DEFAULT_TASK_QUEUE,
    input: schemaFile('input'),
    result: schemaFile('result'),
    signals: { [signals.kill]: { payload: schemaFile('kill') } },
    queries: { [queries.status]: { answer: schemaFile('status') } },
    updates: {},
    failuresAre: 'the workflow fails with a non-retryable ApplicationFailure of one of these types',
    failures: Object.fromEntries(
      Object.entries(FAILURE_KIND).map(([type, kind]) => [type, { kind, meaning: meaning[type as CellFailureType] }]),
    ),
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((a) => [a.name, a.type])),
  };
}

/** The text of a schema file: stable key order as generated, two-space indent, a final newline. */
export function contractSchemaText(name: SchemaName): string {
  return `${JSON.stringify(contractSchema(name), null, 2)}\n`;
}
