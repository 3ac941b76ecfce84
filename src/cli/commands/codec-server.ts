// `cellos codec-server`: the remote codec for the Temporal UI and CLI, with this deployment's payload
// keys, until SIGINT/SIGTERM.
import type { AddressInfo } from 'node:net';
import { usageError } from '../exit.ts';
import type { CliIo, StopSignal } from '../io.ts';

export interface CodecServerOptions {
  readonly host: string;
  readonly port: number;
  readonly origins: readonly string[];
}

export async function codecServer(
  opts: CodecServerOptions,
  io: CliIo,
): Promise<{ readonly exitCode: 0; readonly signal: StopSignal }> {
  const [{ parsePayloadKeys }, { AesGcmPayloadCodec }, { createCodecServer }] = await Promise.all([
    import('../../codec/keys.ts'),
    import('../../codec/aes-gcm.ts'),
    import('../../codec/server.ts'),
  ]);
  const keys = parsePayloadKeys(io.env.CELLOS_PAYLOAD_KEYS);
  if (!keys) throw usageError('CELLOS_PAYLOAD_KEYS is not set: the codec server needs the keys the workers use');
  const server = createCodecServer({ codec: new AesGcmPayloadCodec(keys), allowedOrigins: opts.origins });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  }).catch((err: NodeJS.ErrnoException) => {
    throw usageError(`cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`);
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  io.stderr.write(
    `cellos: codec server on http://${host}:${port} for ${opts.origins.join(', ')} with keys ${[...keys.byId.keys()].join(', ')} (Ctrl-C stops it)\n`,
  );
  const signal = await new Promise<StopSignal>((resolve) => {
    const stop = io.onStopSignal((s) => {
      stop();
      resolve(s);
    });
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { exitCode: 0, signal };
}
