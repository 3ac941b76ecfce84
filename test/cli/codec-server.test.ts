// `cellos codec-server`, run as the real command: it serves Temporal's remote codec with the keys in
// CELLOS_PAYLOAD_KEYS, answers the UI's origin, and stops cleanly on SIGTERM; without keys it says so.
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { beforeAll, expect, it } from 'vitest';
import { AesGcmPayloadCodec } from '../../src/codec/aes-gcm.ts';
import { parsePayloadKeys } from '../../src/codec/keys.ts';
import { until } from '../helpers/wait.ts';
import { buildDist, cli, hasStackTrace, startCli } from './cli-helpers.ts';

beforeAll(async () => {
  await buildDist();
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

it('decodes what a worker with the same keys encrypted, for the UI origin, until SIGTERM', async () => {
  const keys = `k1=${randomBytes(32).toString('base64')}`;
  const server = startCli(['codec-server', '--listen', '127.0.0.1:0', '--ui-origin', 'http://ui.test:8233'], {
    env: { PATH: process.env.PATH, CELLOS_PAYLOAD_KEYS: keys },
  });
  const line = await until(
    'the codec server saying where it listens',
    () => server.stderrSoFar(),
    (text) => /http:\/\/127\.0\.0\.1:\d+/.test(text),
  );
  const base = /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0];
  expect(line).not.toContain(keys.split('=')[1]);
  const [sealed] = await new AesGcmPayloadCodec(parsePayloadKeys(keys)!).encode([
    defaultPayloadConverter.toPayload({ argv: ['make', 'test'] }),
  ]);
  const res = await fetch(`${base}/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://ui.test:8233' },
    body: JSON.stringify({
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(sealed!.metadata!).map(([k, v]) => [k, b64(v)])),
          data: b64(sealed!.data!),
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBe('http://ui.test:8233');
  const body = (await res.json()) as { payloads: { data: string }[] };
  expect(JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString())).toEqual({ argv: ['make', 'test'] });
  server.child.kill('SIGTERM');
  const done = await server.done;
  expect(done.code).toBe(0);
});

it('refuses to start without CELLOS_PAYLOAD_KEYS, and a malformed key, with a message and exit 1', async () => {
  const none = await cli(['codec-server', '--listen', '127.0.0.1:0'], { env: { PATH: process.env.PATH } });
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('CELLOS_PAYLOAD_KEYS is not set');
  const bad = await cli(['codec-server'], { env: { PATH: process.env.PATH, CELLOS_PAYLOAD_KEYS: 'k1=short' } });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('key k1 must be 32 bytes');
  expect(hasStackTrace(none.stderr + bad.stderr)).toBe(false);
});
