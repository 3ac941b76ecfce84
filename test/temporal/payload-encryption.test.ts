// Payload encryption on a real dev server: with CELLOS_PAYLOAD_KEYS, what the cluster stores of a
// cell (document, output, failures) is ciphertext; the plain Temporal CLI finds none of it, and the
// same CLI pointed at `cellos codec-server`'s endpoint reads it all.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CellFailedError } from '../../src/client/errors.ts';
import { AesGcmPayloadCodec } from '../../src/codec/aes-gcm.ts';
import { cellosDataConverter } from '../../src/codec/data-converter.ts';
import { parsePayloadKeys } from '../../src/codec/keys.ts';
import { createCodecServer } from '../../src/codec/server.ts';
import { cellWorkflowId } from '../../src/contract/index.ts';
import { findTemporalCli } from '../../src/temporal/cli.ts';
import { rawDocument } from '../helpers/documents.ts';
import { useTestBed } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';

const run = promisify(execFile);
const keys = parsePayloadKeys(`test-key=${randomBytes(32).toString('base64')}`)!;
const bed = useTestBed({ worker: { dataConverter: cellosDataConverter(keys) } });

const codecServer = createCodecServer({ codec: new AesGcmPayloadCodec(keys), allowedOrigins: [] });
const codecEndpoint = new Promise<string>((resolve) =>
  codecServer.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`)),
);
afterAll(() => new Promise<void>((resolve) => codecServer.close(() => resolve())));

/** The whole stored history of a workflow as the Temporal CLI prints it, optionally through a codec. */
async function historyText(workflowId: string, codec?: string): Promise<string> {
  const cli = await findTemporalCli();
  const args = ['workflow', 'show', '--address', inject('temporalAddress'), '--workflow-id', workflowId];
  args.push('--output', 'json');
  if (codec) args.push('--codec-endpoint', codec);
  const { stdout } = await run(cli, args, { maxBuffer: 64 * 1024 * 1024 });
  // The CLI prints payloads as base64: the text and every payload's data decoded, together.
  const decoded: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'data' && typeof x === 'string') decoded.push(Buffer.from(x, 'base64').toString('latin1'));
        else walk(x);
      }
    }
  };
  walk(JSON.parse(stdout));
  return `${stdout}\n${decoded.join('\n')}`;
}

describe('payload encryption', () => {
  it('stores no document field, output or secret of a cell in clear, and the codec endpoint reads them', async () => {
    const marks = {
      argv: `argv-${randomBytes(6).toString('hex')}`,
      env: `env-${randomBytes(6).toString('hex')}`,
      stdout: `out-${randomBytes(6).toString('hex')}`,
      correlation: `corr-${randomBytes(6).toString('hex')}`,
    };
    const doc = rawDocument(['/bin/sh', '-c', `echo ${marks.stdout}; : ${marks.argv}`], {
      run: { env: { MARK: marks.env } },
      spec: { correlation: { correlationId: marks.correlation } },
    });
    const result = await bed.client.run(doc);
    expect(result.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(result.stdout.tail).toBe(`${marks.stdout}\n`);

    const stored = await historyText(cellWorkflowId(doc.spec.id));
    expect(stored).toContain(Buffer.from('binary/encrypted').toString('base64'));
    for (const mark of Object.values(marks)) expect(stored).not.toContain(mark);

    const decoded = await historyText(cellWorkflowId(doc.spec.id), await codecEndpoint);
    for (const mark of [marks.argv, marks.env, marks.correlation]) expect(decoded).toContain(mark);
    expect(decoded).toContain(marks.stdout);

    // Searchable all the same: CellCorrelationId holds its blind index, which the keyed client computes.
    const found = await until(
      'the cell listed by its correlation id',
      () => bed.client.list({ correlationId: marks.correlation }),
      (f) => f.length === 1,
    );
    expect(found[0]).toMatchObject({
      cellId: doc.spec.id,
      correlationId: expect.stringMatching(/^hmac-sha256:test-key:[0-9a-f]{32}$/),
    });
    expect(await bed.client.list({ correlationId: `${marks.correlation}-other` })).toEqual([]);
  });

  it('encrypts the failure of a cell the host refuses, message included', async () => {
    const secretPath = `/not-allowed-${randomBytes(6).toString('hex')}`;
    const doc = rawDocument(['/bin/true'], { run: { mounts: [{ source: secretPath, destination: '/mnt' }] } });
    const failed = await bed.client.run(doc).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(CellFailedError);
    expect((failed as CellFailedError).type).toBe('CellRejectedByHost');
    // The client decrypts the message for its caller...
    expect((failed as CellFailedError).message).toContain(secretPath);
    // ...while the cluster keeps only ciphertext.
    const stored = await historyText(cellWorkflowId(doc.spec.id));
    expect(stored).not.toContain(secretPath);
    expect(await historyText(cellWorkflowId(doc.spec.id), await codecEndpoint)).toContain(secretPath);
  });
});
