// Searchable values without the value: with payload keys, a document field that becomes a search
// attribute (the correlation id) is indexed as an HMAC of it, because Temporal stores search
// attributes in clear. A client holding the keys computes the same token to find the cells; a
// reader of the database learns only which cells share one. One token per key, so that a filter
// still finds cells indexed before a rotation. WebCrypto: Node 20 and Deno alike.
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, own } from './aes-gcm.ts';
import type { PayloadKey, PayloadKeyring } from './keys.ts';

/** Tokens start so: a token can never be taken for a plain id of the same shape by a reader. */
export const BLIND_INDEX_PREFIX = 'hmac-sha256:';

/** The HMAC key is derived from the payload key, never the AES key itself. */
const DERIVE_LABEL = 'cellos-gvisor blind index v1';

const text = new TextEncoder();

type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface BlindIndex {
  /** The token to index `value` under: with the key that encrypts now. */
  index(value: string): Promise<string>;
  /** Every token `value` may be indexed under (one per key that decrypts). */
  tokens(value: string): Promise<string[]>;
}

export function blindIndex(keyring: PayloadKeyring): BlindIndex {
  const keys = new Map<string, Promise<WebCryptoKey>>();
  const hmacKey = (k: PayloadKey) => {
    let key = keys.get(k.id);
    if (!key) {
      key = (async () => {
        const base = await crypto.subtle.importKey('raw', own(k.key), { name: 'HMAC', hash: 'SHA-256' }, false, [
          'sign',
        ]);
        const derived = await crypto.subtle.sign('HMAC', base, text.encode(DERIVE_LABEL));
        return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      })();
      keys.set(k.id, key);
    }
    return key;
  };
  const token = async (k: PayloadKey, value: string) => {
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(k), text.encode(value)));
    // 128 bits: collisions stay out of reach, the attribute stays short.
    const hex = [...mac.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
    return `${BLIND_INDEX_PREFIX}${k.id}:${hex}`;
  };
  return {
    index: (value) => token(keyring.current, value),
    tokens: (value) => Promise.all([...keyring.byId.values()].map((k) => token(k, value))),
  };
}

/** The blind index of a deployment's data converter: undefined when its payloads are in clear. */
export function blindIndexOf(dataConverter: DataConverter | undefined): BlindIndex | undefined {
  const codec = dataConverter?.payloadCodecs?.find((c) => c instanceof AesGcmPayloadCodec);
  return codec instanceof AesGcmPayloadCodec ? blindIndex(codec.keyring) : undefined;
}
