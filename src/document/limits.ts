// Bounds for document fields: CellOS's own where it has one, otherwise what one host can bear.
const MiB = 1024 * 1024;

/** CellOS ArgvTooLarge: base64 of the JSON argv must fit in this many bytes. */
export const ARGV_BASE64_LIMIT = 3072;

export const LIMITS = {
  cellIdMaxLength: 63,
  ttlMaxSeconds: 7 * 24 * 3600,
  // runsc and busybox need a few MiB; below this a cell cannot start at all.
  memoryMinBytes: 16 * MiB,
  memoryMaxBytes: 1024 * 1024 * MiB,
  outputDefaultBytes: 1 * MiB,
  outputMaxBytes: 64 * MiB,
  /** A document's shape, checked before the schema (see bounds.ts). */
  documentMaxDepth: 32,
  documentMaxNodes: 10_000,
  documentMaxBytes: 256 * 1024,
  /** JSON text of a document, checked before it is decoded. */
  documentMaxTextBytes: 1024 * 1024,
  /** One environment variable's value, and all of them together. */
  envValueMaxBytes: 32 * 1024,
  envMaxBytes: 128 * 1024,
} as const;
