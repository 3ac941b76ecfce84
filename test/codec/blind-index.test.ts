// Blind index of searchable document fields under payload encryption.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blindIndex, blindIndexOf, BLIND_INDEX_PREFIX } from '../../src/codec/blind-index.ts';
import { cellosDataConverter } from '../../src/codec/data-converter.ts';
import { parsePayloadKeys } from '../../src/codec/keys.ts';

const key = () => randomBytes(32).toString('base64');

describe('blindIndex', () => {
  it('gives the same token for the same value and key, another for another value or key', async () => {
    const a = key();
    const one = blindIndex(parsePayloadKeys(`k1=${a}`)!);
    const again = blindIndex(parsePayloadKeys(`k1=${a}`)!);
    const other = blindIndex(parsePayloadKeys(`k1=${key()}`)!);
    const t = await one.index('pipeline-7');
    expect(t).toMatch(new RegExp(`^${BLIND_INDEX_PREFIX}k1:[0-9a-f]{32}$`));
    expect(t).not.toContain('pipeline-7');
    expect(await again.index('pipeline-7')).toBe(t);
    expect(await one.index('pipeline-8')).not.toBe(t);
    expect(await other.index('pipeline-7')).not.toBe(t);
  });

  it('still finds values indexed before a key rotation: one token per key, the current one indexes', async () => {
    const old = key();
    const before = blindIndex(parsePayloadKeys(`old=${old}`)!);
    const after = blindIndex(parsePayloadKeys(`new=${key()},old=${old}`)!);
    const tokens = await after.tokens('run-1');
    expect(tokens).toHaveLength(2);
    expect(tokens).toContain(await before.index('run-1'));
    expect(tokens).toContain(await after.index('run-1'));
    expect(await after.index('run-1')).toMatch(/^hmac-sha256:new:/);
  });

  it('comes with the encrypting data converter only', () => {
    expect(blindIndexOf(undefined)).toBeUndefined();
    expect(blindIndexOf(cellosDataConverter(parsePayloadKeys(`k=${key()}`)))).toBeDefined();
  });
});
