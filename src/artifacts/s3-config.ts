// Where the S3 artifact store writes, from the worker's environment (CELLOS_ARTIFACTS_S3_*). The
// credentials are not here: the AWS SDK's default provider chain reads them (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role), so that no setting of ours ever holds a secret.
import { ConfigError } from '../config-error.ts';

export interface S3StoreConfig {
  /** CELLOS_ARTIFACTS_S3_BUCKET */
  readonly bucket: string;
  /** CELLOS_ARTIFACTS_S3_PREFIX: keys start with `<prefix>/`; '' (the default): at the bucket's root. */
  readonly prefix: string;
  /** CELLOS_ARTIFACTS_S3_ENDPOINT: an S3-compatible server (MinIO, Ceph); undefined: AWS S3 itself. */
  readonly endpoint: string | undefined;
  /** CELLOS_ARTIFACTS_S3_REGION (default us-east-1). */
  readonly region: string;
  /** CELLOS_ARTIFACTS_S3_FORCE_PATH_STYLE: `<endpoint>/<bucket>/<key>` rather than `<bucket>.<host>/<key>`. */
  readonly forcePathStyle: boolean;
}

export const DEFAULT_S3_REGION = 'us-east-1';

const VARS = {
  bucket: 'CELLOS_ARTIFACTS_S3_BUCKET',
  prefix: 'CELLOS_ARTIFACTS_S3_PREFIX',
  endpoint: 'CELLOS_ARTIFACTS_S3_ENDPOINT',
  region: 'CELLOS_ARTIFACTS_S3_REGION',
  forcePathStyle: 'CELLOS_ARTIFACTS_S3_FORCE_PATH_STYLE',
} as const;

/** S3's bucket naming rules (which MinIO applies too), less the rare exceptions. */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Keys are at most 1024 bytes; the prefix leaves room for `cells/<cell id>/<run id>/<name>`. */
const PREFIX_MAX_BYTES = 256;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The S3 store's settings, or undefined when CELLOS_ARTIFACTS_S3_BUCKET is unset or empty (the
 * folder store then keeps artifacts). Throws ConfigError naming the variable and the rule for a bad
 * value, and when another CELLOS_ARTIFACTS_S3_* is set without a bucket (a misspelt bucket variable
 * would otherwise send artifacts to the host's folder unnoticed).
 */
export function s3StoreConfigFromEnv(env: Env): S3StoreConfig | undefined {
  const bucket = env[VARS.bucket] ?? '';
  if (bucket === '') {
    const stray = Object.values(VARS).filter((name) => (env[name] ?? '') !== '');
    if (stray.length > 0) {
      throw new ConfigError(`${stray.join(', ')} set but ${VARS.bucket} is not: set the bucket, or unset them`);
    }
    return undefined;
  }
  if (!BUCKET_PATTERN.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new ConfigError(
      `${VARS.bucket}=${JSON.stringify(bucket)} must be an S3 bucket name: 3 to 63 lowercase letters, digits, . and -, starting and ending with a letter or digit, no "..", not an IP address`,
    );
  }
  const endpoint = parseEndpoint(env[VARS.endpoint]);
  const region = env[VARS.region] || DEFAULT_S3_REGION;
  if (!REGION_PATTERN.test(region)) {
    throw new ConfigError(
      `${VARS.region}=${JSON.stringify(region)} must be a region name (letters, digits, - and _, e.g. us-east-1)`,
    );
  }
  return {
    bucket,
    prefix: parsePrefix(env[VARS.prefix]),
    endpoint,
    region,
    forcePathStyle: parseBool(VARS.forcePathStyle, env[VARS.forcePathStyle]) ?? endpoint !== undefined,
  };
}

function parseEndpoint(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const name = VARS.endpoint;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must be an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must be an http:// or https:// URL`);
  }
  // The value is not echoed here: it holds what may be a secret.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      `${name} must not carry credentials (user:password@): the AWS SDK reads them from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must have no query or fragment`);
  }
  return value.replace(/\/+$/, '');
}

function parsePrefix(value: string | undefined): string {
  if (value === undefined || value === '') return '';
  const name = VARS.prefix;
  const segments = value.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} must be key segments joined by /: no leading, trailing or double /, no . or .. segment`,
    );
  }
  if (/[\u0000-\u001f\u007f\\]/.test(value)) {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must not contain control characters or \\`);
  }
  if (new TextEncoder().encode(value).length > PREFIX_MAX_BYTES) {
    throw new ConfigError(`${name} must be at most ${PREFIX_MAX_BYTES} bytes (an S3 key is at most 1024)`);
  }
  return value;
}

function parseBool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(value)} must be true or false`);
}
