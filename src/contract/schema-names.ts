// The contract's JSON files by name (`cellos schema <name>`, schemas/<file>): no zod here, so that the
// CLI's command table can list them without loading the schemas.

export const SCHEMA_NAMES = ['document', 'input', 'result', 'status', 'kill', 'contract'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

export const schemaFile = (name: SchemaName): string =>
  name === 'contract' ? 'contract.json' : `cell-${name}.schema.json`;
