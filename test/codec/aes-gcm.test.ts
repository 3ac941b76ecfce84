// Payload encryption: what leaves the process is ciphertext bound to its key id; rotation keeps old
// histories readable; a wrong key or an altered payload is an error, never garbage.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, PayloadDecryptionError } from '../../src/codec/aes-gcm.ts';
import { parsePayloadKeys } from '../../src/codec/keys.ts';
import { createCodecServer } from '../../src/codec/server.ts';
import { ConfigError } from '../../src/config-error.ts';

const key = () => randomBytes(32).toString('base64');
const secretDocument = { spec: { id: 'tenant-a-build', run: { argv: ['/bin/sh', '-c', 'echo hunter2'] } } };

describe('AES-256-GCM payload codec', () => {
  it('round-trips a payload and stores no byte of it in clear', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(`k1=${key()}`)!);
    const plain = defaultPayloadConverter.toPayload(secretDocument);
    const [sealed] = await codec.encode([plain]);
    const wire = Buffer.from(sealed!.data!).toString('latin1');
    expect(wire).not.toContain('hunter2');
    expect(wire).not.toContain('tenant-a-build');
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe('k1');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(secretDocument);
  });

  it('encrypts the same payload differently every time (a fresh IV each)', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(`k1=${key()}`)!);
    const plain = defaultPayloadConverter.toPayload('same');
    const [a, b] = await codec.encode([plain, plain]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('after a rotation encrypts with the new key and still reads what the old one wrote', async () => {
    const [oldKey, newKey] = [key(), key()];
    const before = new AesGcmPayloadCodec(parsePayloadKeys(`2026-01=${oldKey}`)!);
    const after = new AesGcmPayloadCodec(parsePayloadKeys(`2026-06=${newKey},2026-01=${oldKey}`)!);
    const [old] = await before.encode([defaultPayloadConverter.toPayload('old')]);
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload('new')]);
    expect(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString()).toBe('2026-06');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['old', 'new']);
    await expect(before.decode([fresh!])).rejects.toThrow(PayloadDecryptionError);
  });

  it('refuses a payload that was altered, or moved under another key id', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(`a=${key()},b=${key()}`)!);
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload('x')]);
    const flipped = Uint8Array.from(sealed!.data!);
    flipped[flipped.length - 1]! ^= 1;
    await expect(codec.decode([{ ...sealed!, data: flipped }])).rejects.toThrow(/altered/);
    const moved = { ...sealed!, metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('b') } };
    await expect(codec.decode([moved])).rejects.toThrow(/altered/);
  });

  it('passes payloads that are not encrypted through decode unchanged (histories from before)', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(`k=${key()}`)!);
    const plain = defaultPayloadConverter.toPayload({ a: 1 });
    expect(await codec.decode([plain])).toEqual([plain]);
  });
});

describe('CELLOS_PAYLOAD_KEYS', () => {
  it('is off when unset or empty', () => {
    expect(parsePayloadKeys(undefined)).toBeUndefined();
    expect(parsePayloadKeys(' ')).toBeUndefined();
  });

  it.each([
    ['k1', 'entry 1 must be <key id>=<base64 key>'],
    ['=abc', 'entry 1 must be <key id>=<base64 key>'],
    ['k1=c2hvcnQ=', 'key k1 must be 32 bytes in base64'],
    ['k1=not base64!', 'key k1 must be 32 bytes in base64'],
  ])('refuses %j, naming the entry but never quoting a key', (setting, message) => {
    expect(() => parsePayloadKeys(setting)).toThrow(ConfigError);
    expect(() => parsePayloadKeys(setting)).toThrow(message);
    try {
      parsePayloadKeys(setting);
    } catch (err) {
      expect((err as Error).message).not.toContain(setting.split('=')[1] || '\u0000');
    }
  });

  it('refuses a key id listed twice', () => {
    const k = key();
    expect(() => parsePayloadKeys(`a=${k},a=${k}`)).toThrow('key id a is listed twice');
  });
});

describe('codec server', () => {
  const codec = new AesGcmPayloadCodec(parsePayloadKeys(`k=${key()}`)!);
  const server = createCodecServer({ codec, allowedOrigins: ['http://localhost:8233'] });
  const listening = new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('decodes for the UI what the codec encoded, and answers the UI origin with CORS headers', async () => {
    const base = await listening;
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload('from the cluster')]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(sealed!.data!).toString('base64'),
        },
      ],
    };
    const res = await fetch(`${base}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:8233', 'x-namespace': 'default' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    const out = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const payload = {
      metadata: Object.fromEntries(
        Object.entries(out.payloads[0]!.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
      ),
      data: Buffer.from(out.payloads[0]!.data, 'base64'),
    };
    expect(defaultPayloadConverter.fromPayload(payload)).toBe('from the cluster');
  });

  it('gives no CORS grant to another origin, and refuses what is not a codec request', async () => {
    const base = await listening;
    const pre = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(`${base}/other`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${base}/decode`, { method: 'POST', body: 'nope' })).status).toBe(400);
  });
});
