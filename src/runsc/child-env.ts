// The environment of every process the host starts (the spawner, so every supervisor and its runsc,
// and the driver's own runsc calls): the worker's, without what it must keep to itself.
/** Variables of the worker that no supervisor or runsc gets: its secrets and the keys it holds. */
const WITHHELD_ENV = [/^CELLOS_SECRET_/, /^CELLOS_PAYLOAD_KEYS$/, /^TEMPORAL_API_KEY$/, /^TEMPORAL_TLS_KEY/];

/**
 * The environment of the spawner, so of every supervisor and its runsc: the worker's, without its
 * secrets and keys (by name, and any variable whose value is a secret the host holds).
 */
export function childEnv(
  env: Readonly<Record<string, string | undefined>>,
  secretValues: readonly string[],
): Record<string, string> {
  const values = new Set(secretValues.filter((v) => v !== ''));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || values.has(value) || WITHHELD_ENV.some((re) => re.test(name))) continue;
    out[name] = value;
  }
  return out;
}
