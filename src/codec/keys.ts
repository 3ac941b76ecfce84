// Payload encryption keys from the operator's configuration. Pure: parsing and checks only.
import { ConfigError } from '../config-error.ts';

export interface PayloadKey {
  /** Written into every payload it encrypts, so a reader picks the right key after a rotation. */
  readonly id: string;
  /** 32 bytes (AES-256). */
  readonly key: Uint8Array;
}

export interface PayloadKeyring {
  /** The key new payloads are encrypted with. */
  readonly current: PayloadKey;
  /** Every key that may decrypt, the current one included. */
  readonly byId: ReadonlyMap<string, PayloadKey>;
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * `CELLOS_PAYLOAD_KEYS=<id>=<base64 of 32 bytes>[,<id>=<key>...]`: the first key encrypts, all of
 * them decrypt. To rotate, put a new key first and keep the old ones for as long as histories
 * written with them are read. Undefined or empty: no encryption.
 */
export function parsePayloadKeys(
  setting: string | undefined,
  name = 'CELLOS_PAYLOAD_KEYS',
): PayloadKeyring | undefined {
  if (setting === undefined || setting.trim() === '') return undefined;
  const byId = new Map<string, PayloadKey>();
  let current: PayloadKey | undefined;
  for (const [i, entry] of setting.split(',').entries()) {
    const eq = entry.indexOf('=');
    const id = entry.slice(0, eq).trim();
    // The key itself is never quoted in an error: it is a secret.
    if (eq <= 0 || !KEY_ID.test(id)) {
      throw new ConfigError(
        `${name}: entry ${i + 1} must be <key id>=<base64 key>, with an id of letters, digits, _ . -`,
      );
    }
    const key = decodeBase64(entry.slice(eq + 1).trim());
    if (key?.length !== 32) {
      throw new ConfigError(`${name}: key ${id} must be 32 bytes in base64 (e.g. from \`openssl rand -base64 32\`)`);
    }
    if (byId.has(id)) throw new ConfigError(`${name}: key id ${id} is listed twice`);
    const k = { id, key };
    byId.set(id, k);
    current ??= k;
  }
  return { current: current!, byId };
}

function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
