// A hostile document's shape: bounded before the schema walks it, refused with the field and the rule.
import { describe, expect, it } from 'vitest';
import { CellDocumentError } from '../../src/document/errors.ts';
import { LIMITS } from '../../src/document/limits.ts';
import { parseCellDocument, parseCellDocumentText } from '../../src/document/parse.ts';
import { rawDocument } from '../helpers/documents.ts';

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CellDocumentError);
    return [...(err as CellDocumentError).problems];
  }
  throw new Error('expected a CellDocumentError');
}

describe('document bounds', () => {
  it('refuses a 6,000-deep object in an unknown field at once, naming where it got too deep', () => {
    let deep: unknown = {};
    for (let i = 0; i < 6000; i++) deep = { a: deep };
    const doc = rawDocument(['/bin/true'], { spec: { telemetry: deep } });
    const started = performance.now();
    const problems = problemsOf(() => parseCellDocument(doc));
    expect(performance.now() - started).toBeLessThan(200);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toMatch(/^spec\.telemetry(\.a)+$/);
    expect(problems[0]!.message).toContain(`more than ${LIMITS.documentMaxDepth} levels deep`);
  });

  it('refuses a 10 MB document before decoding it', () => {
    const text = JSON.stringify(rawDocument(['/bin/true'], { spec: { telemetry: { blob: 'x'.repeat(10_000_000) } } }));
    const problems = problemsOf(() => parseCellDocumentText(text));
    expect(problems).toEqual([{ path: '(root)', message: expect.stringContaining('document too large') as string }]);
  });

  it('refuses a decoded document with megabytes of unknown fields', () => {
    const doc = rawDocument(['/bin/true'], { spec: { telemetry: { blob: 'x'.repeat(LIMITS.documentMaxBytes + 1) } } });
    expect(problemsOf(() => parseCellDocument(doc))[0]!.message).toContain('bytes of text (document too large)');
  });

  it('refuses a document with more values than the bound, such as a huge array', () => {
    const doc = rawDocument(['/bin/true'], { spec: { telemetry: new Array(LIMITS.documentMaxNodes).fill(0) } });
    expect(problemsOf(() => parseCellDocument(doc))[0]!.message).toContain('values (document too large)');
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the prototype-pollution key %s anywhere', (key) => {
    const text = JSON.stringify(rawDocument(['/bin/true'])).replace('"run":{', `"run":{"${key}":{"polluted":true},`);
    const problems = problemsOf(() => parseCellDocumentText(text));
    expect(problems).toContainEqual({
      path: `spec.run.${key}`,
      message: `the key ${key} is not allowed in a document`,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses an env value over its size, and an env over its total size', () => {
    const big = 'v'.repeat(LIMITS.envValueMaxBytes + 1);
    expect(problemsOf(() => parseCellDocument(rawDocument(['/bin/true'], { run: { env: { BIG: big } } })))).toEqual([
      { path: 'spec.run.env.BIG', message: `must be at most ${LIMITS.envValueMaxBytes} bytes` },
    ]);
    const env = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`V${i}`, 'v'.repeat(LIMITS.envValueMaxBytes - 10)]),
    );
    expect(problemsOf(() => parseCellDocument(rawDocument(['/bin/true'], { run: { env } })))).toEqual([
      { path: 'spec.run.env', message: `must be at most ${LIMITS.envMaxBytes} bytes in all` },
    ]);
  });

  it('accepts a document at the bounds: a deep but bounded unknown field and a large env value', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < LIMITS.documentMaxDepth - 4; i++) deep = { a: deep };
    const doc = parseCellDocument(
      rawDocument(['/bin/true'], {
        spec: { telemetry: deep },
        run: { env: { BIG: 'v'.repeat(LIMITS.envValueMaxBytes) } },
      }),
    );
    expect(doc.spec.run.env.BIG).toHaveLength(LIMITS.envValueMaxBytes);
  });
});
