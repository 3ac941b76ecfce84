// The codec endpoint for the Temporal UI and CLI (`cellos codec-server`): they POST encrypted
// payloads to /decode and get them back readable, so a person with the key sees documents and
// results while the cluster stores only ciphertext. The protocol is Temporal's remote codec:
// { "payloads": [{ "metadata": { k: base64 }, "data": base64 }] } in and out.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  readonly codec: PayloadCodec;
  /** Origins whose pages may call it (the UI's, e.g. http://localhost:8233). */
  readonly allowedOrigins: readonly string[];
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes?: number;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

export function createCodecServer(opts: CodecServerOptions): Server {
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  return createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => reply(res, 500, { error: (err as Error).message }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && opts.allowedOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method === 'OPTIONS') return reply(res, 204);
    const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
    if (req.method !== 'POST' || (path !== '/encode' && path !== '/decode')) {
      return reply(res, 404, { error: 'POST /encode or /decode' });
    }
    let body: { payloads?: JsonPayload[] };
    try {
      body = JSON.parse(await readBody(req, maxBody)) as { payloads?: JsonPayload[] };
    } catch (err) {
      return reply(res, 400, { error: `the body must be JSON { "payloads": [...] }: ${(err as Error).message}` });
    }
    if (!Array.isArray(body.payloads)) return reply(res, 400, { error: 'the body must have "payloads": [...]' });
    const payloads = body.payloads.map(fromJson);
    try {
      const out = path === '/encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      reply(res, 200, { payloads: out.map(toJson) });
    } catch (err) {
      reply(res, 400, { error: (err as Error).message });
    }
  }
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  res.statusCode = status;
  if (body === undefined) return void res.end();
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) throw new Error(`larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function fromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}
