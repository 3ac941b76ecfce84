// The workflow contract as JSON Schema: the committed files in schemas/ are what the zod schemas
// generate, a change that breaks clients needs a new contract version, and real documents, inputs and
// results validate against the files. Regenerate after a compatible change: UPDATE_SCHEMAS=1 npx vitest
// run test/contract/json-schema.test.ts
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  CONTRACT_VERSION,
  contractSchema,
  contractSchemaText,
  SCHEMA_NAMES,
  schemaFile,
  type SchemaName,
} from '../../src/contract/json-schema.ts';
import { breakingChanges, type Side } from '../../src/contract/schema-compat.ts';
import { projectRoot } from '../../src/project-root.ts';
import { cellInputOf } from '../../workflows/cell-input.ts';
import { buildDist, cli } from '../cli/cli-helpers.ts';

const dir = join(projectRoot, 'schemas');
const SIDE: Partial<Record<SchemaName, Side>> = {
  document: 'sent',
  input: 'sent',
  kill: 'sent',
  result: 'received',
  status: 'received',
};
const committed = async (name: SchemaName) => readFile(join(dir, schemaFile(name)), 'utf8');

describe('the committed schemas', () => {
  it.each(SCHEMA_NAMES.filter((n) => n !== 'contract'))(
    '%s: matches the zod schema, or changed compatibly',
    async (name) => {
      const before = JSON.parse(await committed(name)) as unknown;
      const after = contractSchema(name);
      const breaking = breakingChanges(before, after, SIDE[name]!);
      const version = (JSON.parse(await committed('contract')) as { contractVersion: number }).contractVersion;
      // A change that breaks running clients must come with a new contract version (and a note to them).
      expect(
        breaking.length === 0 || CONTRACT_VERSION > version,
        `breaking changes to ${schemaFile(name)} need CONTRACT_VERSION > ${version}:\n${breaking.join('\n')}`,
      ).toBe(true);
      if (process.env.UPDATE_SCHEMAS === '1') await writeFile(join(dir, schemaFile(name)), contractSchemaText(name));
      else {
        expect(contractSchemaText(name), `regenerate with UPDATE_SCHEMAS=1 (compatible change)`).toBe(
          await committed(name),
        );
      }
    },
  );

  it('contract: names the workflow, its payloads, failure types and search attributes as the code does', async () => {
    if (process.env.UPDATE_SCHEMAS === '1') await writeFile(join(dir, 'contract.json'), contractSchemaText('contract'));
    const manifest = JSON.parse(await committed('contract')) as Record<string, unknown>;
    expect(manifest).toEqual(contractSchema('contract'));
    expect(manifest).toMatchObject({
      workflowType: 'cellWorkflow',
      defaultTaskQueue: 'cellos',
      signals: { kill: { payload: 'cell-kill.schema.json' } },
      queries: { status: { answer: 'cell-status.schema.json' } },
      searchAttributes: { CellId: 'Keyword', CellExitCode: 'Int', CellCorrelationId: 'Keyword' },
    });
    expect(Object.keys(manifest.failures as object).sort()).toEqual([
      'CellInfrastructureFailure',
      'CellRejectedByHost',
      'CellUnplaceable',
      'InvalidCellDocument',
    ]);
  });
});

describe('the schemas validate what crosses the boundary', () => {
  const ajv = async () => {
    const a = new Ajv2020({ allErrors: true, strict: false });
    for (const name of SCHEMA_NAMES.filter((n) => n !== 'contract')) {
      a.addSchema(JSON.parse(await committed(name)) as object, schemaFile(name));
    }
    return a;
  };
  const hello = async () => JSON.parse(await readFile(join(projectRoot, 'examples/hello.json'), 'utf8')) as object;

  it('takes the example documents, wrapped or bare, and refuses inputs the workflow refuses', async () => {
    const a = await ajv();
    const doc = await hello();
    expect(a.validate('cell-document.schema.json', doc), JSON.stringify(a.errors)).toBe(true);
    expect(a.validate('cell-input.schema.json', { document: doc })).toBe(true);
    expect(a.validate('cell-input.schema.json', doc)).toBe(true);
    expect(a.validate('cell-input.schema.json', { document: doc, taskQueue: 'cellos', indexed: true })).toBe(true);
    expect(a.validate('cell-input.schema.json', {})).toBe(false);
    expect(a.validate('cell-input.schema.json', { document: doc, hostScheduleToStartSeconds: 0 })).toBe(false);
    expect(a.validate('cell-input.schema.json', { document: { ...doc, kind: 'Job' } })).toBe(false);
    expect(a.validate('cell-kill.schema.json', { reason: 'x' })).toBe(true);
    expect(a.validate('cell-kill.schema.json', {})).toBe(false);
  });

  it('agrees with the workflow: an input the schema takes, the workflow takes; the refused ones both refuse', async () => {
    const a = await ajv();
    const doc = await hello();
    const taken = [
      { document: doc },
      doc,
      { document: doc, taskQueue: 'q', scheduleId: 's', hostScheduleToStartSeconds: 30, indexed: false },
    ];
    for (const input of taken) {
      expect(a.validate('cell-input.schema.json', input)).toBe(true);
      expect(cellInputOf(input)).not.toHaveProperty('problem');
    }
    const refused = [
      42,
      [doc],
      { hello: 1 },
      { document: doc, taskQueue: '' },
      { document: doc, taskQueue: 7 },
      { document: doc, indexed: 'yes' },
      { document: doc, scheduleId: 3 },
      { document: doc, hostScheduleToStartSeconds: 1.5 },
    ];
    for (const input of refused) {
      expect(a.validate('cell-input.schema.json', input), JSON.stringify(input)).toBe(false);
      expect(cellInputOf(input), JSON.stringify(input)).toHaveProperty('problem');
    }
  });

  it('a result and a status as the workflow returns them validate; a wrong outcome does not', async () => {
    const a = await ajv();
    const tail = { tail: 'hi\n', bytes: 3, droppedBytes: 0 };
    const result = {
      cellId: 'c',
      workflowId: 'cell-c',
      runId: 'r',
      hostId: 'h',
      outcome: { kind: 'deadline', signal: 'SIGTERM', exitCode: 143 },
      exitCode: 143,
      stdout: tail,
      stderr: tail,
      startedAt: '2026-12-01T00:00:00.000Z',
      endedAt: '2026-12-01T00:00:01.000Z',
      phases: { placing: 3, running: 900 },
      artifacts: [],
      refusedArtifacts: [{ name: 'a', path: '/tmp/a', reason: 'missing' }],
    };
    expect(a.validate('cell-result.schema.json', result), JSON.stringify(a.errors)).toBe(true);
    expect(a.validate('cell-result.schema.json', { ...result, outcome: { kind: 'exploded' } })).toBe(false);
    expect(a.validate('cell-status.schema.json', { cellId: 'c', phase: 'running', hostId: 'h' })).toBe(true);
    expect(a.validate('cell-status.schema.json', { cellId: 'c', phase: 'sleeping' })).toBe(false);
  });
});

describe('breakingChanges', () => {
  const input = contractSchema('input');
  const result = contractSchema('result');
  const clone = <T>(v: T): T => structuredClone(v);
  const wrapper = (s: Record<string, unknown>) =>
    (s.anyOf as Record<string, unknown>[])[0] as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
    };

  it('finds nothing between a schema and itself', () => {
    for (const name of SCHEMA_NAMES.filter((n) => n !== 'contract')) {
      expect(breakingChanges(contractSchema(name), contractSchema(name), SIDE[name]!)).toEqual([]);
    }
  });

  it('an input field clients may omit is compatible; a newly required one, or a tighter bound, is not', () => {
    const optional = clone(input);
    wrapper(optional).properties.priority = { type: 'integer' };
    expect(breakingChanges(input, optional, 'sent')).toEqual([]);

    const required = clone(optional);
    wrapper(required).required = [...wrapper(required).required, 'priority'];
    expect(breakingChanges(input, required, 'sent')).toEqual(['$|#0.priority: newly required (clients omit it)']);

    const tighter = clone(input);
    wrapper(tighter).properties.hostScheduleToStartSeconds!.minimum = 5;
    expect(breakingChanges(input, tighter, 'sent')).toEqual([
      '$|#0.hostScheduleToStartSeconds: minimum rose from 1 to 5 (clients send values the new schema refuses)',
    ]);
  });

  it('a result field removed or made optional, a new outcome kind, a changed type: all break readers', () => {
    const props = (s: Record<string, unknown>) => s.properties as Record<string, Record<string, unknown>>;
    const removed = clone(result);
    delete props(removed).cellId;
    expect(breakingChanges(result, removed, 'received')).toContain('$.cellId: removed (clients read it)');

    const optional = clone(result);
    optional.required = (optional.required as string[]).filter((r) => r !== 'stdout');
    expect(breakingChanges(result, optional, 'received')).toContain('$.stdout: may now be absent (clients read it)');

    const newKind = clone(result);
    const outcome = props(newKind).outcome as { oneOf: unknown[] };
    outcome.oneOf.push({ type: 'object', properties: { kind: { type: 'string', const: 'frozen' } } });
    expect(breakingChanges(result, newKind, 'received')).toEqual([
      '$.outcome|kind=frozen: a new form clients do not know',
    ]);

    const retyped = clone(result);
    props(retyped).cellId = { type: 'integer' };
    expect(breakingChanges(result, retyped, 'received')[0]).toMatch(/^\$\.cellId: type changed/);

    // And the other way round, they are fine: a reader is not hurt by an added optional field.
    const added = clone(result);
    props(added).note = { type: 'string' };
    expect(breakingChanges(result, added, 'received')).toEqual([]);
  });
});

describe('cellos schema', () => {
  it('prints each committed file; an unknown name is a usage error naming the choices', async () => {
    await buildDist();
    for (const name of ['result', 'input'] as const) {
      const r = await cli(['schema', name], { env: { PATH: process.env.PATH } });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(await committed(name));
    }
    const bad = await cli(['schema', 'results'], { env: { PATH: process.env.PATH } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown schema "results" (one of: document, input, result, status, kill, contract)');
  });
});
