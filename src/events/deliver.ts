// Posts one cell event to its receiver and says what the answer means: delivered, worth retrying,
// or refused for good. Global fetch only (Node 20, Deno 2), so no runtime-specific code.
import type { CellEvent } from './cloudevents.ts';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** How long one POST may take, answer body included, unless the caller says. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

/** Characters of the receiver's answer kept in an error. */
const BODY_TAIL_CHARS = 300;
/** Bytes of the answer read at most to find that tail. */
const BODY_READ_BYTES = 8 * 1024;

export type DeliveryVerdict = 'delivered' | 'retryable' | 'refused';

/**
 * 2xx delivered; 408, 429 and 5xx retryable (the receiver is busy or down); 3xx refused (see
 * deliverCellEvent); any other status refused: the receiver rejects this event, and posting it
 * again cannot change its mind.
 */
export function verdictOf(status: number): DeliveryVerdict {
  if (status >= 200 && status <= 299) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retryable';
  return 'refused';
}

export interface DeliverOptions {
  readonly url: string;
  readonly timeoutMs?: number | undefined;
  /** Aborts the POST (the activity's cancellation). */
  readonly signal?: AbortSignal | undefined;
  readonly fetch?: typeof fetch | undefined;
}

export interface CellEventDeliveryErrorFields {
  readonly url: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly retryable: boolean;
  /** The answer's status; undefined when none came (network error, timeout). */
  readonly status?: number | undefined;
  readonly bodyTail?: string | undefined;
  /** From a 429 or 503's Retry-After, when it had one. */
  readonly retryAfterMs?: number | undefined;
  readonly cause?: unknown;
}

/** A POST that did not deliver its event. The message reads "<reason>: POST <url> (event <id>, <type>)\n\n<body tail>". */
export class CellEventDeliveryError extends Error {
  override readonly name: string = 'CellEventDeliveryError';
  /** The receiver's URL without query or credentials (it is shown in logs and in Temporal's history). */
  readonly url: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly bodyTail: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(reason: string, fields: CellEventDeliveryErrorFields) {
    const tail = fields.bodyTail ? `\n\n${fields.bodyTail}` : '';
    super(`${reason}: POST ${fields.url} (event ${fields.eventId}, ${fields.eventType})${tail}`, {
      cause: fields.cause,
    });
    this.url = fields.url;
    this.eventId = fields.eventId;
    this.eventType = fields.eventType;
    this.retryable = fields.retryable;
    this.status = fields.status;
    this.bodyTail = fields.bodyTail;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/**
 * POSTs the event in the structured mode (the whole event as the JSON body). Resolves with the
 * status when a 2xx came back; otherwise throws a CellEventDeliveryError that says whether a retry
 * can help.
 *
 * Redirects are not followed: the configured URL is the only place events may go, and a redirect
 * could send a cell's argv to another origin. A 3xx is refused, not retried, since asking the same
 * URL again gets the same redirect: the setting is what needs fixing.
 */
export async function deliverCellEvent(event: CellEvent, opts: DeliverOptions): Promise<{ status: number }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const where = { url: displayUrl(opts.url), eventId: event.id, eventType: event.type };
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(opts.url, {
      method: 'POST',
      headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
      body: JSON.stringify(event),
      redirect: 'manual',
      signal,
    });
  } catch (err) {
    const reason = timeout.aborted
      ? `no answer within ${timeoutMs} ms`
      : opts.signal?.aborted
        ? 'cancelled'
        : `network error (${networkCause(err)})`;
    throw new CellEventDeliveryError(reason, { ...where, retryable: true, cause: err });
  }
  const verdict = redirected(res) ? 'refused' : verdictOf(res.status);
  if (verdict === 'delivered') {
    // Nothing to read: free the connection.
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status };
  }
  const bodyTail = await readTail(res);
  const status = res.status || undefined;
  if (redirected(res)) {
    const to = res.headers.get('location');
    throw new CellEventDeliveryError(
      `redirected (${res.status || 'opaque'}${to ? ` to ${displayUrl(to, opts.url)}` : ''}), not followed: set CELLOS_EVENTS_URL to the final URL`,
      { ...where, retryable: false, status, bodyTail },
    );
  }
  const answer = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  throw new CellEventDeliveryError(
    verdict === 'retryable' ? `the receiver answered ${answer}` : `the receiver refused the event with ${answer}`,
    {
      ...where,
      retryable: verdict === 'retryable',
      status,
      bodyTail,
      retryAfterMs: verdict === 'retryable' ? retryAfterMs(res.headers.get('retry-after')) : undefined,
    },
  );
}

// Node's fetch hands a manual redirect back as the 3xx itself; a browser-like fetch as an opaque
// redirect with status 0.
function redirected(res: Response): boolean {
  return res.type === 'opaqueredirect' || (res.status >= 300 && res.status <= 399);
}

/** The URL as shown in messages: no credentials, no query (either may hold a token). */
export function displayUrl(url: string, base?: string): string {
  try {
    const u = new URL(url, base);
    return `${u.origin}${u.pathname}`;
  } catch {
    return JSON.stringify(url.slice(0, 100));
  }
}

/** Retry-After in delta-seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function networkCause(err: unknown): string {
  // undici: TypeError('fetch failed') with the socket's error (ECONNREFUSED, ...) as its cause.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The end of the answer's body, read up to BODY_READ_BYTES; '' when there is none or it breaks off. */
async function readTail(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_READ_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // Cut off (timeout, reset): keep what came.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  const text = new TextDecoder().decode(bytes).trim();
  return text.length > BODY_TAIL_CHARS ? `…${text.slice(-BODY_TAIL_CHARS)}` : text;
}
