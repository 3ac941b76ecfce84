// The committed JSON Schemas of the workflow contract (schemas/), loaded into one validator: tests of
// real clients check what they received against what other languages are promised.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import { SCHEMA_NAMES, schemaFile, type SchemaName } from '../../src/contract/schema-names.ts';
import { projectRoot } from '../../src/project-root.ts';

const ajv = new Ajv2020({ allErrors: true, strict: false });
for (const name of SCHEMA_NAMES.filter((n) => n !== 'contract')) {
  ajv.addSchema(
    JSON.parse(readFileSync(join(projectRoot, 'schemas', schemaFile(name)), 'utf8')) as object,
    schemaFile(name),
  );
}

/** Fails with the validator's errors when `value` breaks schemas/<name>'s schema. */
export function expectMatchesSchema(name: Exclude<SchemaName, 'contract'>, value: unknown): void {
  const ok = ajv.validate(schemaFile(name), value);
  expect(ok, `${schemaFile(name)}: ${ajv.errorsText(ajv.errors)}`).toBe(true);
}
