// Whether a change of a JSON Schema breaks clients that were written against the old one. Two sides:
// what clients send (the input, the document: the new schema must take everything the old one took)
// and what they receive (the result, the status: the new schema must not give them anything the old
// one did not promise). Covers the JSON Schema the contract uses: types, const, enum, properties,
// required, items, anyOf/oneOf, numeric and length bounds, pattern. Pure.

export type Side = 'sent' | 'received';
type Schema = Record<string, unknown>;

/** Each change that breaks a client, as `<path>: <what>`; empty when the change is compatible. */
export function breakingChanges(before: unknown, after: unknown, side: Side): string[] {
  const out: string[] = [];
  compare(asSchema(before), asSchema(after), side, '$', out);
  return out;
}

function asSchema(v: unknown): Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Schema) : {};
}

function types(s: Schema): Set<string> | undefined {
  const t = s.type;
  if (t === undefined) return undefined;
  return new Set((Array.isArray(t) ? t : [t]) as string[]);
}

function values(s: Schema): unknown[] | undefined {
  if (Object.hasOwn(s, 'const')) return [s.const];
  return Array.isArray(s.enum) ? s.enum : undefined;
}

const key = (v: unknown) => JSON.stringify(v);

/** Is every value of `narrow` one of `wide`? (undefined: any value) */
function within<T>(narrow: T[] | Set<T> | undefined, wide: T[] | Set<T> | undefined, same = (a: T, b: T) => a === b) {
  if (wide === undefined) return true;
  if (narrow === undefined) return false;
  const w = [...wide];
  return [...narrow].every((n) => w.some((x) => same(n, x)));
}

function compare(before: Schema, after: Schema, side: Side, path: string, out: string[]): void {
  // `wider`: what may take more values after the change; on the sent side that is the new schema.
  const [narrow, wide] = side === 'sent' ? [before, after] : [after, before];
  const problem = (what: string) => out.push(`${path}: ${what}`);
  const told =
    side === 'sent' ? 'clients send values the new schema refuses' : 'clients receive values they were not promised';

  if (key(before.$ref) !== key(after.$ref)) problem(`$ref changed from ${key(before.$ref)} to ${key(after.$ref)}`);
  // An integer is a number: a number where an integer was is wider, not different.
  if (!within(types(narrow), types(wide), (a, b) => a === b || (a === 'integer' && b === 'number'))) {
    problem(`type changed from ${key(before.type)} to ${key(after.type)} (${told})`);
  }
  if (!within(values(narrow), values(wide), (a, b) => key(a) === key(b))) {
    problem(`allowed values changed from ${key(values(before))} to ${key(values(after))} (${told})`);
  }
  for (const [lower, upper] of [
    ['minimum', 'maximum'],
    ['minItems', 'maxItems'],
    ['minLength', 'maxLength'],
    ['minProperties', 'maxProperties'],
  ] as const) {
    const lo = (s: Schema) => (typeof s[lower] === 'number' ? s[lower] : -Infinity);
    const hi = (s: Schema) => (typeof s[upper] === 'number' ? s[upper] : Infinity);
    if (lo(wide) > lo(narrow)) problem(`${lower} rose from ${lo(before)} to ${lo(after)} (${told})`);
    if (hi(wide) < hi(narrow)) problem(`${upper} fell from ${hi(before)} to ${hi(after)} (${told})`);
  }
  if (wide.pattern !== undefined && wide.pattern !== narrow.pattern) {
    problem(`pattern changed from ${key(before.pattern)} to ${key(after.pattern)}`);
  }

  compareObjects(before, after, side, path, out);
  if (before.items !== undefined || after.items !== undefined) {
    compare(asSchema(before.items), asSchema(after.items), side, `${path}[]`, out);
  }
  if (before.additionalProperties !== undefined && typeof before.additionalProperties === 'object') {
    compare(asSchema(before.additionalProperties), asSchema(after.additionalProperties), side, `${path}{}`, out);
  }
  compareUnions(before, after, side, path, out);
}

function compareObjects(before: Schema, after: Schema, side: Side, path: string, out: string[]): void {
  const props = (s: Schema) => asSchema(s.properties);
  const required = (s: Schema) => new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const closed = (s: Schema) => s.additionalProperties === false;
  const [pb, pa, rb, ra] = [props(before), props(after), required(before), required(after)];
  for (const name of Object.keys(pb)) {
    const at = `${path}.${name}`;
    if (!Object.hasOwn(pa, name)) {
      if (side === 'sent' && closed(after)) out.push(`${at}: removed, and the object refuses unknown fields`);
      if (side === 'received' && rb.has(name)) out.push(`${at}: removed (clients read it)`);
      continue;
    }
    if (side === 'received' && rb.has(name) && !ra.has(name)) out.push(`${at}: may now be absent (clients read it)`);
    compare(asSchema(pb[name]), asSchema(pa[name]), side, at, out);
  }
  for (const name of Object.keys(pa)) {
    if (side === 'sent' && ra.has(name) && !rb.has(name)) out.push(`${path}.${name}: newly required (clients omit it)`);
  }
  if (side === 'sent' && !closed(before) && closed(after)) out.push(`${path}: now refuses unknown fields`);
}

/** anyOf/oneOf branches, matched by their `kind` const where they have one, else by position. */
function compareUnions(before: Schema, after: Schema, side: Side, path: string, out: string[]): void {
  const branches = (s: Schema) =>
    (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : []) as Schema[];
  const [bb, ba] = [branches(before), branches(after)];
  if (bb.length === 0 && ba.length === 0) return;
  const label = (s: Schema, i: number) => {
    const kind = asSchema(asSchema(s.properties).kind).const;
    return kind === undefined ? `#${i}` : `kind=${String(kind)}`;
  };
  const byLabel = (list: Schema[]) => new Map(list.map((s, i) => [label(s, i), s]));
  const [mb, ma] = [byLabel(bb), byLabel(ba)];
  for (const [name, b] of mb) {
    const a = ma.get(name);
    if (a === undefined) {
      if (side === 'sent') out.push(`${path}|${name}: a form clients send was removed`);
      continue;
    }
    compare(b, a, side, `${path}|${name}`, out);
  }
  for (const name of ma.keys()) {
    if (side === 'received' && !mb.has(name)) out.push(`${path}|${name}: a new form clients do not know`);
  }
}
