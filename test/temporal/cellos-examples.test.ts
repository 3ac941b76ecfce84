// CellOS's own example documents (test/fixtures/documents/, see /work/shared/notes/cellos-document.md)
// run end to end through Temporal: real dev server, worker, runsc and the busybox rootfs.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CellFailedError } from '../../src/client/cell-client.ts';
import { FULL_DOCUMENT, REAL_DOCUMENT, documentJson, documentText } from '../fixtures/documents/load.ts';
import { fetchHistory, useTestBed } from '../helpers/temporal.ts';

const SECRET = 's3cret';

// The operator grants DB_PASSWORD (and API_TOKEN, which it has no value for) to the demo cells only,
// and the host has the labels demo-cell-001 asks for in spec.placement.
const bed = useTestBed({
  host: {
    secrets: { DB_PASSWORD: SECRET },
    secretGrants: { DB_PASSWORD: ['demo-cell-*'], API_TOKEN: ['demo-cell-*'] },
  },
  worker: { labels: { pool: 'default', zone: 'eu-1' } },
});

/**
 * Every string in a history, with each payload's bytes decoded as UTF-8 (historyToJSON would show them
 * base64-encoded, where a plain search cannot see a secret).
 */
async function historyText(workflowId: string, runId: string): Promise<string> {
  const history = await fetchHistory(bed, workflowId, runId);
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
    else if (value !== null && typeof value === 'object' && !seen.has(value)) {
      seen.add(value);
      for (const v of Object.values(value)) walk(v);
    }
  };
  walk(history);
  return out.join('\n');
}

describe('CellOS example documents through Temporal', () => {
  it('runs the real t-timeout document from CellOS, byte for byte, to a clean exit after its sleep 2', async () => {
    const t0 = Date.now();
    const run = await bed.client.start(JSON.parse(documentText(REAL_DOCUMENT)) as unknown);
    expect(run.workflowId).toBe('cell-t-timeout');
    const r = await run.result();
    expect(r.cellId).toBe('t-timeout');
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.bytes).toBe(0);
    expect(r.stderr.bytes).toBe(0);
    expect(r.cleanupError).toBeUndefined();
    // The sandbox really slept: from its start to its end at least the 2 s of `sleep 2`.
    expect(Date.parse(r.sandboxEndedAt ?? '') - Date.parse(r.sandboxStartedAt ?? '')).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
  });

  it('runs the demo-cell-001 shape with its secret delivered by env, in /work, without the secret in the history', async () => {
    // The full CellOS document (limits, correlation, export and the sections of unknown shape) with a
    // workload that shows what it received instead of writing /out/report.json.
    const doc = documentJson(FULL_DOCUMENT);
    doc.spec.run.argv = ['/bin/sh', '-c', 'printf %s "$DB_PASSWORD" | wc -c; pwd'];
    expect(doc.spec.authority.secretRefs).toEqual(['DB_PASSWORD']);
    expect(doc.spec.run.workingDirectory).toBe('/work');
    const run = await bed.client.start(doc);
    const r = await run.result();
    expect(r.cellId).toBe('demo-cell-001');
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    // The value arrived (its length, not the value, is printed) and the cwd is the document's.
    expect(r.stdout.tail.trim().split(/\s+/)).toEqual([String(SECRET.length), '/work']);
    expect(r.cleanupError).toBeUndefined();

    const text = await historyText(run.workflowId, run.runId);
    // The search reads payloads: it finds the secret's name (in the document) and the workload's output.
    expect(text).toContain('DB_PASSWORD');
    expect(text).toContain('req-7f3a9c');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64'));
  });

  it('runs demo-cell-001 exactly as written and exports its /out/report.json', async () => {
    // The document's own argv writes the length of the secret to /out/report.json, the path its export
    // section names: the host gives the cell a scratch folder at /out (the rootfs is read-only) and
    // collects the report from it after the workload ends.
    const run = await bed.client.start(documentJson(FULL_DOCUMENT));
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.refusedArtifacts).toEqual([]);
    expect(r.artifacts).toEqual([
      {
        name: 'report',
        path: '/out/report.json',
        kind: 'file',
        bytes: 2,
        sha256: createHash('sha256')
          .update(`${SECRET.length + 1}\n`)
          .digest('hex'),
        location: expect.stringMatching(new RegExp(`^folder:${bed.host.config.hostId}:[0-9a-f]{64}$`)),
      },
    ]);
    const stored = await bed.host.artifactStore.read(r.artifacts[0]!.location, 0, 2);
    expect(Buffer.from(stored).toString()).toBe(`${SECRET.length + 1}\n`);
    expect(r.cleanupError).toBeUndefined();
    expect(await historyText(run.workflowId, run.runId)).not.toContain(SECRET);
  });

  it('redacts a secret the cell prints, plainly or in base64, from its result and from the whole history', async () => {
    const doc = documentJson(FULL_DOCUMENT);
    doc.spec.id = 'demo-cell-001-echo';
    doc.spec.run.argv = [
      '/bin/sh',
      '-c',
      'echo "$DB_PASSWORD"; printf %s "$DB_PASSWORD" | base64; echo "$DB_PASSWORD" >&2',
    ];
    const run = await bed.client.start(doc);
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.stdout.tail).toBe('[redacted:DB_PASSWORD]\n[redacted:DB_PASSWORD]\n');
    expect(r.stderr.tail).toBe('[redacted:DB_PASSWORD]\n');
    const text = await historyText(run.workflowId, run.runId);
    expect(text).toContain('[redacted:DB_PASSWORD]');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64').replace(/=+$/, ''));
  });

  it('refuses a cell the secret is not granted to, naming the secret and never its value', async () => {
    const doc = documentJson(FULL_DOCUMENT);
    doc.spec.id = 'tenant-b-steals';
    const err = await bed.client.run(doc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CellFailedError);
    expect((err as CellFailedError).type).toBe('CellRejectedByHost');
    expect((err as Error).message).toMatch(/secret DB_PASSWORD .*is not granted to this cell/);
    expect((err as Error).message).not.toContain(SECRET);
  });

  it('fails demo-cell-001 with CellRejectedByHost when the host has no value for a secret it refers to', async () => {
    const doc = documentJson(FULL_DOCUMENT);
    doc.spec.id = 'demo-cell-001-missing-secret';
    doc.spec.authority.secretRefs = ['DB_PASSWORD', 'API_TOKEN'];
    const err = await bed.client.run(doc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CellFailedError);
    expect((err as CellFailedError).type).toBe('CellRejectedByHost');
    expect((err as Error).message).toMatch(/secret API_TOKEN .*has no value on this host/);
  });
});
