import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SANDBOX_ID_LENGTH, isSandboxId, sandboxIdFor } from '../../src/bundle/index.ts';
import { sha256Hex } from '../../src/bundle/sha256.ts';
import { CELL_ID_PATTERN, LIMITS } from '../../src/document/index.ts';

/** runsc's container id rule: [A-Za-z0-9_.+-], at most 92 characters, no leading `-` (read as a flag). */
const RUNSC_ID = /^[A-Za-z0-9_.+][A-Za-z0-9_.+-]{0,91}$/;

/** Cell ids the document schema accepts. */
const cellId = fc.stringMatching(
  new RegExp(CELL_ID_PATTERN.source.replace('*$', `{0,${LIMITS.cellIdMaxLength - 1}}$`)),
);
const runKey = fc.string({ maxLength: 40 });

const nodeSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('sandboxIdFor', () => {
  test('gives ids of one fixed length for short and long cell ids', () => {
    expect(SANDBOX_ID_LENGTH).toBeLessThanOrEqual(92);
    for (const id of ['a', 'job-1', 'demo-cell-001', 'exactly-16-chars', 'c'.repeat(LIMITS.cellIdMaxLength)]) {
      expect(sandboxIdFor(id, 'run-1')).toHaveLength(SANDBOX_ID_LENGTH);
    }
  });

  test('starts with the cell id (cut or padded to 16 characters) so that people can read it', () => {
    expect(sandboxIdFor('job-1', 'r')).toMatch(/^job-1___________-[0-9a-f]{24}$/);
    expect(sandboxIdFor('a-rather-long-cell-identifier', 'r')).toMatch(/^a-rather-long-ce-[0-9a-f]{24}$/);
  });

  test('uses only characters runsc allows and never starts with a dash', () => {
    fc.assert(
      fc.property(cellId, runKey, (id, key) => {
        const sandboxId = sandboxIdFor(id, key);
        expect(sandboxId).toMatch(RUNSC_ID);
        expect(sandboxId).toHaveLength(SANDBOX_ID_LENGTH);
        expect(isSandboxId(sandboxId)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('keeps job-1 and job-10 apart: neither id is a prefix of the other', () => {
    const a = sandboxIdFor('job-1', 'run-1');
    const b = sandboxIdFor('job-10', 'run-1');
    expect(b.startsWith(a)).toBe(false);
    expect(a.startsWith(b)).toBe(false);
  });

  test('never gives an id that is a prefix of the id of another cell or run', () => {
    fc.assert(
      fc.property(fc.tuple(cellId, runKey), fc.tuple(cellId, runKey), ([idA, keyA], [idB, keyB]) => {
        fc.pre(idA !== idB || keyA !== keyB);
        const a = sandboxIdFor(idA, keyA);
        const b = sandboxIdFor(idB, keyB);
        expect(a).not.toBe(b);
        expect(a.startsWith(b) || b.startsWith(a)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  test('gives a new id for each run key of the same cell', () => {
    const ids = new Set(Array.from({ length: 200 }, (_, i) => sandboxIdFor('demo-cell-001', `run-${i}`)));
    expect(ids.size).toBe(200);
  });

  test('tells apart cells whose ids share their first 16 characters', () => {
    expect(sandboxIdFor('shared-prefix-16-a', 'r')).not.toBe(sandboxIdFor('shared-prefix-16-b', 'r'));
  });

  test('gives the same id for the same cell and run key every time', () => {
    fc.assert(
      fc.property(cellId, runKey, (id, key) => {
        expect(sandboxIdFor(id, key)).toBe(sandboxIdFor(id, key));
      }),
    );
    expect(sandboxIdFor('demo-cell-001', 'run-1')).toBe(
      `demo-cell-001___-${nodeSha256('demo-cell-001\nrun-1').slice(0, 24)}`,
    );
  });
});

describe('isSandboxId', () => {
  test.each([
    ['a generated id', sandboxIdFor('demo', 'r'), true],
    ['a cell id', 'demo-cell-001', false],
    ['one character short', sandboxIdFor('demo', 'r').slice(0, -1), false],
    ['one character long', `${sandboxIdFor('demo', 'r')}0`, false],
    ['an id with a leading dash', `-${sandboxIdFor('demo', 'r').slice(1)}`, false],
    ['an id with upper-case hex', sandboxIdFor('demo', 'r').toUpperCase(), false],
  ])('judges %s: %s', (_what, id, expected) => {
    expect(isSandboxId(id)).toBe(expected);
  });
});

describe('sha256Hex', () => {
  test('hashes the empty string to the known digest', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('')).toBe(nodeSha256(''));
  });

  test('hashes "abc" to the known digest', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abc')).toBe(nodeSha256('abc'));
  });

  test('hashes the two-block NIST message to the known digest', () => {
    const message = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
    expect(sha256Hex(message)).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  test('hashes a 1000-character string as node:crypto does', () => {
    const text = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(33 + ((i * 7) % 94))).join('');
    expect(text).toHaveLength(1000);
    expect(sha256Hex(text)).toBe(nodeSha256(text));
    expect(sha256Hex('a'.repeat(1000))).toBe(nodeSha256('a'.repeat(1000)));
  });

  test('agrees with node:crypto at every length around the 64-byte block and padding boundaries', () => {
    for (let n = 0; n <= 200; n++) {
      const text = 'x'.repeat(n);
      expect(sha256Hex(text), `length ${n}`).toBe(nodeSha256(text));
    }
  });

  test('hashes the UTF-8 bytes of non-ASCII text', () => {
    for (const text of ['é', '日本語', '🚀 cell', 'naïve\u0000nul']) {
      expect(sha256Hex(text), text).toBe(nodeSha256(text));
    }
  });

  test('agrees with node:crypto on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(sha256Hex(text)).toBe(nodeSha256(text));
      }),
      { numRuns: 300 },
    );
  });
});
