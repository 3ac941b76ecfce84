// A Temporal payload codec that encrypts every payload with AES-256-GCM, so documents, results,
// heartbeats and signals stored in a shared cluster are unreadable without the key. Web Crypto:
// the same code runs on Node 20 and Deno 2.
import type { Payload, PayloadCodec } from '@temporalio/common';
// A CommonJS package: Node's ESM loader gives it as a default export only.
import proto from '@temporalio/proto';
import type { PayloadKeyring } from './keys.ts';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const { Payload: PayloadProto } = proto.temporal.api.common.v1;

type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const text = new TextEncoder();
const utf8 = new TextDecoder();

/** Raised when a payload cannot be decrypted: unknown key id, or a payload that was tampered with. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

export class AesGcmPayloadCodec implements PayloadCodec {
  readonly #keyring: PayloadKeyring;
  readonly #cryptoKeys = new Map<string, Promise<WebCryptoKey>>();

  constructor(keyring: PayloadKeyring) {
    this.#keyring = keyring;
  }

  /** The keys (blind-index.ts derives its own keys from them for values that must stay searchable). */
  get keyring(): PayloadKeyring {
    return this.#keyring;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id } = this.#keyring.current;
    const key = await this.#cryptoKey(id);
    return Promise.all(
      payloads.map(async (payload) => {
        const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
        const plain = PayloadProto.encode(payload).finish();
        // The key id is authenticated too: a payload cannot be moved under another key's id.
        const sealed = new Uint8Array(
          await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: text.encode(id) }, key, own(plain)),
        );
        const data = new Uint8Array(IV_BYTES + sealed.length);
        data.set(iv);
        data.set(sealed, IV_BYTES);
        return {
          metadata: {
            encoding: text.encode(ENCRYPTED_ENCODING),
            'encryption-cipher': text.encode(CIPHER),
            'encryption-key-id': text.encode(id),
          },
          data,
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        const encoding = payload.metadata?.encoding;
        if (!encoding || utf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
        const idBytes = payload.metadata?.['encryption-key-id'];
        const id = idBytes ? utf8.decode(idBytes) : '';
        if (!this.#keyring.byId.has(id)) {
          throw new PayloadDecryptionError(
            `a payload is encrypted with key ${JSON.stringify(id)}, which this process does not have (CELLOS_PAYLOAD_KEYS)`,
          );
        }
        const data = payload.data ?? new Uint8Array();
        let plain: ArrayBuffer;
        try {
          plain = await crypto.subtle.decrypt(
            { name: 'AES-GCM', iv: own(data.subarray(0, IV_BYTES)), additionalData: text.encode(id) },
            await this.#cryptoKey(id),
            own(data.subarray(IV_BYTES)),
          );
        } catch {
          throw new PayloadDecryptionError(`a payload encrypted with key ${id} does not decrypt: it was altered`);
        }
        return PayloadProto.decode(new Uint8Array(plain)) as Payload;
      }),
    );
  }

  #cryptoKey(id: string): Promise<WebCryptoKey> {
    let key = this.#cryptoKeys.get(id);
    if (!key) {
      const raw = this.#keyring.byId.get(id)!.key;
      key = crypto.subtle.importKey('raw', own(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
      this.#cryptoKeys.set(id, key);
    }
    return key;
  }
}

/**
 * The bytes in an ArrayBuffer of their own: WebCrypto's types (Deno's, strictly) refuse views that
 * may sit on a SharedArrayBuffer, which protobuf's buffers and subarrays are typed as.
 */
export function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}
