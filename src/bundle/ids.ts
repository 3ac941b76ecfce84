import { sha256Hex } from './sha256.ts';

/** Every sandbox id has this length: runsc matches ids by prefix, so no id may be a prefix of another. */
export const SANDBOX_ID_LENGTH = 41;
const SLUG_LENGTH = 16;

/**
 * The runsc container id of one run of a cell: readable (starts with the cell id), of one fixed
 * length, and unique per run, because runsc destroys a live container's state when an id is reused.
 */
export function sandboxIdFor(cellId: string, runKey: string): string {
  const slug = cellId.slice(0, SLUG_LENGTH).padEnd(SLUG_LENGTH, '_');
  const hash = sha256Hex(`${cellId}\n${runKey}`).slice(0, SANDBOX_ID_LENGTH - SLUG_LENGTH - 1);
  return `${slug}-${hash}`;
}

export function isSandboxId(id: string): boolean {
  return id.length === SANDBOX_ID_LENGTH && /^[A-Za-z0-9][A-Za-z0-9_.-]{15}-[0-9a-f]{24}$/.test(id);
}
