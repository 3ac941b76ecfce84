// Cell ids without the schema: the workflow names a cell whose document failed validation, and
// loads no zod for it. Pure.
import { LIMITS } from './limits.ts';

/** A cell id that runsc, a file name and a workflow id can all carry. */
export const CELL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function isCellId(id: string): boolean {
  return id.length <= LIMITS.cellIdMaxLength && CELL_ID_PATTERN.test(id);
}

/** The id of a document that has not been (or could not be) validated, when it has a usable one. */
export function cellIdOf(document: unknown): string | undefined {
  const id = (document as { spec?: { id?: unknown } } | null | undefined)?.spec?.id;
  if (typeof id !== 'string') return undefined;
  const trimmed = id.trim();
  return isCellId(trimmed) ? trimmed : undefined;
}
