// Bounds on a document's shape, checked before the schema sees it: a hostile document must not cost
// a host more than a bounded walk (no deep recursion, no megabytes of unknown fields carried into
// history), nor smuggle keys that mean something to JavaScript objects. Pure.
import { CellDocumentError, type DocumentProblem } from './errors.ts';
import { LIMITS } from './limits.ts';

/** Keys that would reach an object's prototype when copied naively: refused anywhere in a document. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Throws CellDocumentError when `input` is deeper than LIMITS.documentMaxDepth, has more than
 * LIMITS.documentMaxNodes values, more than LIMITS.documentMaxBytes of keys and strings, or a
 * forbidden key. Iterative, so a 100,000-deep object costs no stack.
 */
export function checkDocumentBounds(input: unknown): void {
  const problems: DocumentProblem[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: input, path: '(root)', depth: 0 }];
  let nodes = 0;
  let bytes = 0;
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    nodes += 1;
    if (nodes > LIMITS.documentMaxNodes) {
      throw new CellDocumentError([
        { path: '(root)', message: `has more than ${LIMITS.documentMaxNodes} values (document too large)` },
      ]);
    }
    if (typeof value === 'string') {
      bytes += value.length;
    } else if (value !== null && typeof value === 'object') {
      if (depth >= LIMITS.documentMaxDepth) {
        throw new CellDocumentError([
          { path, message: `is nested more than ${LIMITS.documentMaxDepth} levels deep (document too deep)` },
        ]);
      }
      // Counted before anything is built: a million-element array is refused without a million pushes.
      const size = Array.isArray(value) ? value.length : Object.keys(value).length;
      if (nodes + stack.length + size > LIMITS.documentMaxNodes) {
        throw new CellDocumentError([
          { path: '(root)', message: `has more than ${LIMITS.documentMaxNodes} values (document too large)` },
        ]);
      }
      // Array.from, not map: a sparse array's holes are values too (undefined), not skipped.
      const entries = Array.isArray(value)
        ? Array.from(value, (v, i) => [String(i), v] as const)
        : Object.keys(value).map((k) => [k, (value as Record<string, unknown>)[k]] as const);
      for (const [key, child] of entries) {
        // Under the root, an index or an odd key reads (root)[0], (root)["a b"]: every path names where it starts.
        const childPath = Array.isArray(value) ? `${path}[${key}]` : joinKey(path, key);
        if (!Array.isArray(value)) {
          bytes += key.length;
          if (FORBIDDEN_KEYS.has(key)) {
            problems.push({ path: childPath, message: `the key ${key} is not allowed in a document` });
            continue;
          }
        }
        stack.push({ value: child, path: childPath, depth: depth + 1 });
      }
    }
    if (bytes > LIMITS.documentMaxBytes) {
      throw new CellDocumentError([
        { path: '(root)', message: `holds more than ${LIMITS.documentMaxBytes} bytes of text (document too large)` },
      ]);
    }
  }
  if (problems.length > 0) throw new CellDocumentError(problems);
}

function joinKey(path: string, key: string): string {
  const segment = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : `[${JSON.stringify(key.slice(0, 64))}]`;
  if (path === '(root)') return segment.startsWith('[') ? `(root)${segment}` : segment;
  return segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
}
