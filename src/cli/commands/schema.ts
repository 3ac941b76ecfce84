// `cellos schema <name>`: the workflow contract as JSON, for clients in any language (see
// src/contract/json-schema.ts; the package ships the same files in schemas/).
import { contractSchemaText, type SchemaName } from '../../contract/json-schema.ts';
import type { CliIo } from '../io.ts';

export async function schema(opts: { readonly name: SchemaName }, io: CliIo): Promise<{ exitCode: 0 }> {
  io.stdout.write(contractSchemaText(opts.name));
  return { exitCode: 0 };
}
