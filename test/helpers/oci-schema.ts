// Validates generated config.json objects against the OCI runtime-spec 1.0.2 JSON schemas, which
// live in shared/ beside the repo (../shared/oci-runtime-spec-1.0.2-schema). They are draft-04
// schemas that $ref each other by relative file name (`defs.json#/definitions/...`), so each file
// is registered under its own name and ajv resolves the references among them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvDraft04Module from 'ajv-draft-04';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OCI_SCHEMA_DIR = path.resolve(repoRoot, '..', 'shared', 'oci-runtime-spec-1.0.2-schema');
const ENTRY = 'config-schema.json';

// ajv-draft-04 is CommonJS: its class is both module.exports and module.exports.default.
const Ajv = AjvDraft04Module.default;

let validate: ReturnType<InstanceType<typeof Ajv>['compile']> | undefined;

function compile() {
  if (!existsSync(path.join(OCI_SCHEMA_DIR, ENTRY))) {
    throw new Error(
      `OCI runtime-spec schemas not found: expected ${path.join(OCI_SCHEMA_DIR, ENTRY)} (shared/ must sit beside the repo)`,
    );
  }
  // strict: false because the upstream files keep sub-schemas under plain keys (`config-linux.json`
  // has a top-level "linux" that config-schema.json $refs), which ajv's strict mode calls unknown
  // keywords; validation itself is unchanged.
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const file of readdirSync(OCI_SCHEMA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    if (file === ENTRY) continue;
    ajv.addSchema(JSON.parse(readFileSync(path.join(OCI_SCHEMA_DIR, file), 'utf8')) as object, file);
  }
  const entry = JSON.parse(readFileSync(path.join(OCI_SCHEMA_DIR, ENTRY), 'utf8')) as object;
  ajv.addSchema(entry, ENTRY);
  const fn = ajv.getSchema(ENTRY);
  if (!fn) throw new Error(`could not compile ${ENTRY}`);
  return fn;
}

/** Problems of `config` against the OCI runtime-spec 1.0.2 config schema; empty when valid. */
export function validateOciConfig(config: unknown): string[] {
  validate ??= compile();
  if (validate(config)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '(root)'}: ${e.message ?? e.keyword}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}
