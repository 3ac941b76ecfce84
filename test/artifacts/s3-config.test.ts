import { describe, expect, it } from 'vitest';
import { s3StoreConfigFromEnv } from '../../src/artifacts/s3-config.ts';
import { ConfigError } from '../../src/config-error.ts';

const bucket = { CELLOS_ARTIFACTS_S3_BUCKET: 'cellos-artifacts' };

function configError(env: Record<string, string>): ConfigError {
  try {
    s3StoreConfigFromEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('s3StoreConfigFromEnv', () => {
  it('answers undefined when no bucket is set, so that the folder store keeps artifacts', () => {
    expect(s3StoreConfigFromEnv({})).toBeUndefined();
    expect(s3StoreConfigFromEnv({ CELLOS_ARTIFACTS_S3_BUCKET: '' })).toBeUndefined();
  });

  it('refuses another CELLOS_ARTIFACTS_S3_* without a bucket, naming what is set', () => {
    const err = configError({ CELLOS_ARTIFACTS_S3_ENDPOINT: 'http://minio:9000', CELLOS_ARTIFACTS_S3_PREFIX: 'p' });
    expect(err.message).toBe(
      'CELLOS_ARTIFACTS_S3_PREFIX, CELLOS_ARTIFACTS_S3_ENDPOINT set but CELLOS_ARTIFACTS_S3_BUCKET is not: set the bucket, or unset them',
    );
  });

  it('defaults to AWS S3 in us-east-1, virtual-hosted style, keys at the bucket root', () => {
    expect(s3StoreConfigFromEnv(bucket)).toEqual({
      bucket: 'cellos-artifacts',
      prefix: '',
      endpoint: undefined,
      region: 'us-east-1',
      forcePathStyle: false,
    });
  });

  it('takes path style by default when an endpoint is set, and an explicit false over it', () => {
    const env = { ...bucket, CELLOS_ARTIFACTS_S3_ENDPOINT: 'http://127.0.0.1:9000/' };
    expect(s3StoreConfigFromEnv(env)).toMatchObject({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(s3StoreConfigFromEnv({ ...env, CELLOS_ARTIFACTS_S3_FORCE_PATH_STYLE: 'false' })).toMatchObject({
      forcePathStyle: false,
    });
    expect(s3StoreConfigFromEnv({ ...bucket, CELLOS_ARTIFACTS_S3_FORCE_PATH_STYLE: 'true' })).toMatchObject({
      forcePathStyle: true,
    });
  });

  it('keeps a prefix and a region as given', () => {
    expect(
      s3StoreConfigFromEnv({
        ...bucket,
        CELLOS_ARTIFACTS_S3_PREFIX: 'team-a/cellos',
        CELLOS_ARTIFACTS_S3_REGION: 'eu-central-1',
      }),
    ).toMatchObject({ prefix: 'team-a/cellos', region: 'eu-central-1' });
  });

  it('refuses a bucket name that S3 refuses, saying the rule', () => {
    for (const name of ['Cellos', 'ab', 'a_b', '-cellos', 'cellos-', 'a..b', '192.168.1.1', 'x'.repeat(64)]) {
      const err = configError({ CELLOS_ARTIFACTS_S3_BUCKET: name });
      expect(err.message).toContain(`CELLOS_ARTIFACTS_S3_BUCKET=${JSON.stringify(name)} must be an S3 bucket name`);
    }
  });

  it('refuses an endpoint that is not an http or https URL', () => {
    for (const value of ['minio:9000', 'ftp://minio', '127.0.0.1:9000', 'http://minio:9000/?x=1']) {
      const err = configError({ ...bucket, CELLOS_ARTIFACTS_S3_ENDPOINT: value });
      expect(err.message).toMatch(
        /^CELLOS_ARTIFACTS_S3_ENDPOINT=.* must (be an http:\/\/ or https:\/\/ URL|have no query)/,
      );
    }
  });

  it('refuses credentials in the endpoint without repeating them', () => {
    const err = configError({ ...bucket, CELLOS_ARTIFACTS_S3_ENDPOINT: 'https://admin:hunter2@minio.example' });
    expect(err.message).toMatch(/^CELLOS_ARTIFACTS_S3_ENDPOINT must not carry credentials/);
    expect(err.message).not.toContain('hunter2');
  });

  it('refuses a prefix with empty, . or .. segments', () => {
    for (const value of ['/cellos', 'cellos/', 'a//b', 'a/../b', '.']) {
      const err = configError({ ...bucket, CELLOS_ARTIFACTS_S3_PREFIX: value });
      expect(err.message).toBe(
        `CELLOS_ARTIFACTS_S3_PREFIX=${JSON.stringify(value)} must be key segments joined by /: no leading, trailing or double /, no . or .. segment`,
      );
    }
    expect(configError({ ...bucket, CELLOS_ARTIFACTS_S3_PREFIX: 'a\nb' }).message).toContain('control characters');
    expect(configError({ ...bucket, CELLOS_ARTIFACTS_S3_PREFIX: 'p'.repeat(257) }).message).toContain(
      'at most 256 bytes',
    );
  });

  it('refuses a region that is not a region name and a path style that is not true or false', () => {
    expect(configError({ ...bucket, CELLOS_ARTIFACTS_S3_REGION: 'us east' }).message).toBe(
      'CELLOS_ARTIFACTS_S3_REGION="us east" must be a region name (letters, digits, - and _, e.g. us-east-1)',
    );
    expect(configError({ ...bucket, CELLOS_ARTIFACTS_S3_FORCE_PATH_STYLE: 'maybe' }).message).toBe(
      'CELLOS_ARTIFACTS_S3_FORCE_PATH_STYLE="maybe" must be true or false',
    );
  });
});
