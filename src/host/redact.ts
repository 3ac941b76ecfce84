// Secret values out of what the host reports about a cell (output tails in heartbeats and in its
// CellExit, runsc's failure text): each becomes `[redacted:<NAME>]`. Against a workload that echoes
// its secret by accident, not one that means to leak it: that one can always encode it in a way
// no redaction knows (the boundary is which cells get a secret at all, CELLOS_GRANT_<NAME>).
//
// What is found: the value itself; its base64, standard and URL-safe, with or without padding; the
// base64 of the value at each of the 3 byte offsets it can have in a longer encoded stream (the
// characters that depend on the value alone); encoded forms wrapped over lines (`base64` wraps at
// 76 columns). At the ends of a tail: a piece of any of these cut off by the tail's start or end,
// 4 characters or more and within one line; a shorter piece is left as it is.
//
// Plain string search, no regular expression built from a value: a 2 KiB key as one expression
// with optional line breaks took 1.4 s to compile, all of it on the worker's event loop.

/** A secret that the host put into a cell's environment. */
export interface SecretValue {
  readonly name: string;
  readonly value: string;
}

/** Encoded forms shorter than this are not looked for: they would match ordinary text. */
const MIN_ENCODED_CHARS = 4;
/** A piece of a secret cut off at either end of a tail is redacted from this many characters. */
const MIN_PIECE_CHARS = 4;

interface SecretPatterns {
  readonly marker: string;
  readonly value: string;
  /** Its base64 forms, longest first: never a line break inside, so looked for across them. */
  readonly encoded: readonly string[];
  /** The value and every encoded form, longest first, for the cut pieces at the ends. */
  readonly forms: readonly string[];
}

/** A stretch of the text to replace with a marker. */
interface Hit {
  readonly start: number;
  readonly end: number;
  readonly marker: string;
}

/** A function that redacts these secrets from a text; the identity when there are none. */
export function secretRedactor(secrets: readonly SecretValue[]): (text: string) => string {
  const patterns = secrets
    .filter((s) => s.value.length > 0)
    // A secret that contains another is redacted as itself, not as the other.
    .sort((a, b) => b.value.length - a.value.length)
    .map(cachedPatterns);
  if (patterns.length === 0) return (text) => text;
  return (text) => {
    let out = replaceHits(text, findWhole(text, patterns));
    for (const p of patterns) out = redactCutPieces(out, p);
    return out;
  };
}

/** Patterns by secret, kept across calls: a heartbeat every half second builds the same ones. */
const patternCache = new Map<string, SecretPatterns>();
const PATTERN_CACHE_MAX = 256;

function cachedPatterns(secret: SecretValue): SecretPatterns {
  const key = `${secret.name}\0${secret.value}`;
  let p = patternCache.get(key);
  if (p === undefined) {
    p = patternsOf(secret);
    if (patternCache.size >= PATTERN_CACHE_MAX) patternCache.delete(patternCache.keys().next().value!);
    patternCache.set(key, p);
  }
  return p;
}

function patternsOf({ name, value }: SecretValue): SecretPatterns {
  const bytes = Buffer.from(value, 'utf8');
  const encoded = new Set<string>();
  const add = (form: string) => {
    if (form.length < MIN_ENCODED_CHARS) return;
    encoded.add(form);
    encoded.add(form.replace(/\+/g, '-').replace(/\//g, '_'));
  };
  const full = bytes.toString('base64');
  add(full);
  add(full.replace(/=+$/, ''));
  for (const offset of [0, 1, 2]) {
    // The value after `offset` bytes of anything: the characters that do not depend on the bytes
    // around it are those whose 6 bits lie wholly inside the value's bits.
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    add(padded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6)));
  }
  encoded.delete(value);
  const byLength = (a: string, b: string) => b.length - a.length;
  return {
    marker: `[redacted:${name}]`,
    value,
    encoded: [...encoded].sort(byLength),
    forms: [value, ...encoded].sort(byLength),
  };
}

/** Every whole form in the text: the value as it is, encoded forms also across line breaks. */
function findWhole(text: string, patterns: readonly SecretPatterns[]): Hit[] {
  const hits: Hit[] = [];
  // The text without \r and \n, and where each of its characters was.
  let joined = '';
  const at: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n' || c === '\r') continue;
    joined += c;
    at.push(i);
  }
  for (const p of patterns) {
    for (let i = text.indexOf(p.value); i >= 0; i = text.indexOf(p.value, i + p.value.length)) {
      hits.push({ start: i, end: i + p.value.length, marker: p.marker });
    }
    for (const form of p.encoded) {
      for (let i = joined.indexOf(form); i >= 0; i = joined.indexOf(form, i + form.length)) {
        hits.push({ start: at[i]!, end: at[i + form.length - 1]! + 1, marker: p.marker });
      }
    }
  }
  return hits;
}

/** The text with each hit replaced; overlapping hits become one, named by the earliest-found. */
function replaceHits(text: string, hits: readonly Hit[]): string {
  if (hits.length === 0) return text;
  // Stable sort: among hits that start together, the one found first (longer secret, longer form) wins.
  const sorted = hits.map((h, order) => ({ ...h, order })).sort((a, b) => a.start - b.start || a.order - b.order);
  let out = '';
  let pos = 0;
  for (const h of sorted) {
    if (h.start < pos) {
      // Overlaps the previous replacement: extend it over this one.
      pos = Math.max(pos, h.end);
      continue;
    }
    out += `${text.slice(pos, h.start)}${h.marker}`;
    pos = h.end;
  }
  return out + text.slice(pos);
}

/**
 * A tail starts where the file was cut and ends where the workload has written to so far (or at its
 * output cap): a form cut at either end is redacted too, from MIN_PIECE_CHARS characters.
 */
function redactCutPieces(text: string, p: SecretPatterns): string {
  let out = text;
  // A character split at the cut decodes as U+FFFD: the piece starts after it.
  const lead = /^\uFFFD{0,3}/.exec(out)![0].length;
  const head = longestPiece(out.slice(lead), p.forms, 'suffix');
  if (head > 0) out = `${out.slice(0, lead)}${p.marker}${out.slice(lead + head)}`;
  const tail = longestPiece(out, p.forms, 'prefix');
  if (tail > 0) out = `${out.slice(0, out.length - tail)}${p.marker}`;
  return out;
}

/**
 * The length of the longest proper suffix (at the start of `text`) or proper prefix (at its end) of
 * any form that `text` begins or ends with; 0 when none of MIN_PIECE_CHARS or more does.
 */
function longestPiece(text: string, forms: readonly string[], piece: 'suffix' | 'prefix'): number {
  if (text.length < MIN_PIECE_CHARS) return 0;
  // Where the text's first (or last) MIN_PIECE_CHARS characters occur in a form: the only places a
  // piece can start (or end), found without trying every length.
  const probe = piece === 'suffix' ? text.slice(0, MIN_PIECE_CHARS) : text.slice(-MIN_PIECE_CHARS);
  let best = 0;
  for (const form of forms) {
    for (let at = form.indexOf(probe); at >= 0; at = form.indexOf(probe, at + 1)) {
      if (piece === 'suffix') {
        const n = form.length - at;
        if (at > 0 && n > best && n <= text.length && text.startsWith(form.slice(at))) best = n;
      } else {
        const n = at + MIN_PIECE_CHARS;
        if (n < form.length && n > best && n <= text.length && text.endsWith(form.slice(0, n))) best = n;
      }
    }
  }
  return best;
}

/**
 * The redactor of one cell: the secrets its record names (every secret of the host for a record
 * written before records named them), with the values this host holds now.
 */
export function cellRedactor(
  secrets: Readonly<Record<string, string>>,
  secretNames: readonly string[] | undefined,
): (text: string) => string {
  const names = secretNames ?? Object.keys(secrets);
  return secretRedactor(
    names.filter((n) => Object.hasOwn(secrets, n)).map((name) => ({ name, value: secrets[name]! })),
  );
}
