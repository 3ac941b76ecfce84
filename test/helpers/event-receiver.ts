// A real HTTP receiver of cell events for tests (node:http on 127.0.0.1, a free port): it records
// every request as it came and answers as the test scripts it (fail first, refuse, hang, redirect).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CellEvent } from '../../src/events/cloudevents.ts';

export interface ReceivedRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The status it was answered with; undefined while (or if never) answered. */
  status?: number;
}

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Wait this long before answering; Infinity: never answer (the connection is cut at close). */
  readonly delayMs?: number;
}

/** Answers the request with index `n` (0 for the first this receiver got). */
export type Responder = (request: ReceivedRequest, n: number) => Reply;

export interface EventReceiver {
  /** `http://127.0.0.1:<port>/events`. */
  readonly url: string;
  /** Every request, in the order they arrived. */
  readonly requests: readonly ReceivedRequest[];
  /** The events of the requests answered 2xx, parsed, in order. */
  accepted(): CellEvent[];
  close(): Promise<void>;
}

export const accept: Responder = () => ({ status: 202 });

/** Answers the first `n` requests with `status` (a short body naming it), then accepts. */
export function failFirst(n: number, status = 503): Responder {
  return (_req, i) => (i < n ? { status, body: `receiver down (${status}), request ${i}` } : { status: 202 });
}

export async function startEventReceiver(respond: Responder = accept): Promise<EventReceiver> {
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const n = requests.push(request) - 1;
      const reply = respond(request, n);
      const answer = () => {
        request.status = reply.status;
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? '');
      };
      const delay = reply.delayMs ?? 0;
      if (delay === Infinity) return;
      if (delay === 0) return answer();
      const t = setTimeout(() => {
        timers.delete(t);
        answer();
      }, delay);
      timers.add(t);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    requests,
    accepted: () =>
      requests
        .filter((r) => r.status !== undefined && r.status >= 200 && r.status <= 299)
        .map((r) => JSON.parse(r.body) as CellEvent),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      // Requests left hanging on purpose would keep close() waiting for ever.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
