// CELLOS_METRICS_ADDRESS, CELLOS_EVENTS_URL, CELLOS_EAGER_RUN and the artifact settings: values the worker can use, or a
// message naming the variable.
import { describe, expect, it } from 'vitest';
import { ARTIFACT_DEFAULTS } from '../../src/artifacts/limits.ts';
import { ConfigError } from '../../src/config-error.ts';
import { normalizeHostConfig } from '../../src/host/config.ts';
import { workerConfigFromEnv } from '../../src/worker/config.ts';

const base = { CELLOS_HOST_ID: 'h1', TEMPORAL_ADDRESS: '127.0.0.1:7233' };

describe('CELLOS_METRICS_ADDRESS', () => {
  it('is off when unset or empty', () => {
    expect(workerConfigFromEnv(base).metricsAddress).toBeUndefined();
    expect(workerConfigFromEnv({ ...base, CELLOS_METRICS_ADDRESS: '' }).metricsAddress).toBeUndefined();
  });

  it.each(['127.0.0.1:9464', '0.0.0.0:9464', '[::1]:9464', '[::]:1'])('takes %s', (address) => {
    expect(workerConfigFromEnv({ ...base, CELLOS_METRICS_ADDRESS: address }).metricsAddress).toBe(address);
  });

  it.each([
    'localhost:9464',
    '127.0.0.1',
    ':9464',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '::1:9464',
    '[127.0.0.1]:9464',
    '1.2.3:80',
  ])('refuses %s with a message that names the variable', (address) => {
    expect(() => workerConfigFromEnv({ ...base, CELLOS_METRICS_ADDRESS: address })).toThrow(
      new RegExp(`^CELLOS_METRICS_ADDRESS=${JSON.stringify(address).replace(/[[\]().]/g, '\\$&')} must be ip:port`),
    );
  });
});

describe('CELLOS_EVENTS_URL', () => {
  it('is off when unset or empty', () => {
    expect(workerConfigFromEnv(base).eventsUrl).toBeUndefined();
    expect(workerConfigFromEnv({ ...base, CELLOS_EVENTS_URL: '' }).eventsUrl).toBeUndefined();
  });

  it.each([
    ['http://127.0.0.1:8080/events', 'http://127.0.0.1:8080/events'],
    ['https://Events.Example.com', 'https://events.example.com/'],
    ['https://events.example.com/cellos?stream=cells', 'https://events.example.com/cellos?stream=cells'],
  ])('takes %s', (value, href) => {
    expect(workerConfigFromEnv({ ...base, CELLOS_EVENTS_URL: value }).eventsUrl).toBe(href);
  });

  it.each(['events.example.com', '/events', 'ftp://events.example.com/', 'file:///tmp/events', 'http//x'])(
    'refuses %s with a message that names the variable and the rule',
    (value) => {
      expect(() => workerConfigFromEnv({ ...base, CELLOS_EVENTS_URL: value })).toThrow(
        `CELLOS_EVENTS_URL=${JSON.stringify(value)} must be an http: or https: URL`,
      );
    },
  );

  it('refuses a URL with credentials without printing them', () => {
    let message = '';
    try {
      workerConfigFromEnv({ ...base, CELLOS_EVENTS_URL: 'https://cellos:hunter2@events.example.com/' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^CELLOS_EVENTS_URL must not carry a user name or password/);
    expect(message).not.toContain('hunter2');
  });
});

describe('CELLOS_EAGER_RUN', () => {
  it('is on with the embedded default, whose dev server dispatches eagerly, and off with TEMPORAL_ADDRESS', () => {
    expect(workerConfigFromEnv({ CELLOS_HOST_ID: 'h1' }).eagerRun).toBe(true);
    expect(workerConfigFromEnv(base).eagerRun).toBe(false);
    expect(workerConfigFromEnv({ ...base, CELLOS_EAGER_RUN: '' }).eagerRun).toBe(false);
  });

  it('says so either way when set', () => {
    expect(workerConfigFromEnv({ ...base, CELLOS_EAGER_RUN: 'true' }).eagerRun).toBe(true);
    expect(workerConfigFromEnv({ CELLOS_HOST_ID: 'h1', CELLOS_EAGER_RUN: '0' }).eagerRun).toBe(false);
  });

  it('refuses anything but a boolean, naming the variable', () => {
    expect(() => workerConfigFromEnv({ ...base, CELLOS_EAGER_RUN: 'fast' })).toThrow(
      'CELLOS_EAGER_RUN="fast" must be true or false',
    );
  });
});

describe('the artifact settings', () => {
  it('leave the folder and every limit to the host when unset or empty, and keep artifacts in the folder store', () => {
    for (const env of [base, { ...base, CELLOS_ARTIFACTS_DIR: '', CELLOS_ARTIFACT_MAX_BYTES: '' }]) {
      const cfg = workerConfigFromEnv(env);
      expect(cfg.host.artifactsDir).toBeUndefined();
      expect(cfg.host.artifacts).toEqual({});
      expect(cfg.artifactsS3).toBeUndefined();
    }
  });

  it('give the host its folder store and its limits', () => {
    const cfg = workerConfigFromEnv({
      ...base,
      CELLOS_ARTIFACTS_DIR: '/srv/cellos-artifacts',
      CELLOS_ARTIFACT_MAX_BYTES: '1048576',
      CELLOS_ARTIFACTS_MAX_CELL_BYTES: '4194304',
      CELLOS_ARTIFACT_MAX_FILES: '500',
      CELLOS_ARTIFACTS_RETENTION_SECONDS: '3600',
      CELLOS_ARTIFACTS_QUOTA_BYTES: '1073741824',
    });
    expect(cfg.host.artifactsDir).toBe('/srv/cellos-artifacts');
    expect(cfg.host.artifacts).toEqual({
      maxBytesPerArtifact: 1048576,
      maxBytesPerCell: 4194304,
      maxFilesPerArtifact: 500,
      retentionSeconds: 3600,
      quotaBytes: 1073741824,
    });
  });

  it('default the folder to <state dir>/artifacts and fill in the limits they do not set', () => {
    const cfg = workerConfigFromEnv({ ...base, CELLOS_STATE_DIR: '/var/lib/cellos-x', CELLOS_ARTIFACT_MAX_FILES: '7' });
    const host = normalizeHostConfig({ ...cfg.host, defaultRootfs: '/srv/rootfs/busybox' });
    expect(host.artifactsDir).toBe('/var/lib/cellos-x/artifacts');
    expect(host.artifacts).toEqual({ ...ARTIFACT_DEFAULTS, maxFilesPerArtifact: 7 });
  });

  it.each([
    ['CELLOS_ARTIFACTS_DIR', 'artifacts', 'must be an absolute path'],
    ['CELLOS_ARTIFACTS_DIR', './artifacts', 'must be an absolute path'],
    ['CELLOS_ARTIFACT_MAX_BYTES', '0', 'must be a whole number from 1 to 9007199254740991'],
    ['CELLOS_ARTIFACT_MAX_BYTES', '100MB', 'must be a whole number from 1 to 9007199254740991'],
    ['CELLOS_ARTIFACTS_MAX_CELL_BYTES', '-1', 'must be a whole number from 1 to 9007199254740991'],
    ['CELLOS_ARTIFACT_MAX_FILES', '1.5', 'must be a whole number from 1 to 10000000'],
    ['CELLOS_ARTIFACT_MAX_FILES', '10000001', 'must be a whole number from 1 to 10000000'],
    ['CELLOS_ARTIFACTS_RETENTION_SECONDS', '0', 'must be a whole number from 1 to 315360000'],
    ['CELLOS_ARTIFACTS_RETENTION_SECONDS', '7d', 'must be a whole number from 1 to 315360000'],
    ['CELLOS_ARTIFACTS_QUOTA_BYTES', '1e999', 'must be a whole number from 1 to 9007199254740991'],
  ])('refuse %s=%s naming the variable and the rule', (name, value, rule) => {
    const err = configErrorOf({ ...base, [name]: value });
    expect(err.message).toBe(`${name}=${JSON.stringify(value)} ${rule}`);
  });

  it('send artifacts to S3 when CELLOS_ARTIFACTS_S3_BUCKET is set', () => {
    const cfg = workerConfigFromEnv({
      ...base,
      CELLOS_ARTIFACTS_S3_BUCKET: 'cellos-artifacts',
      CELLOS_ARTIFACTS_S3_ENDPOINT: 'http://minio:9000',
      CELLOS_ARTIFACT_MAX_BYTES: '1024',
    });
    expect(cfg.artifactsS3).toEqual({
      bucket: 'cellos-artifacts',
      prefix: '',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    });
    // The limits of collecting still apply: they are the host's, whichever store keeps the result.
    expect(cfg.host.artifacts).toEqual({ maxBytesPerArtifact: 1024 });
  });

  it('refuse a bad S3 setting as the worker starts', () => {
    expect(configErrorOf({ ...base, CELLOS_ARTIFACTS_S3_ENDPOINT: 'http://minio:9000' }).message).toMatch(
      /^CELLOS_ARTIFACTS_S3_ENDPOINT set but CELLOS_ARTIFACTS_S3_BUCKET is not/,
    );
  });

  it("refuse the folder store's settings beside an S3 bucket, which would silently not apply", () => {
    const err = configErrorOf({
      ...base,
      CELLOS_ARTIFACTS_S3_BUCKET: 'cellos-artifacts',
      CELLOS_ARTIFACTS_RETENTION_SECONDS: '3600',
      CELLOS_ARTIFACTS_DIR: '/srv/artifacts',
    });
    expect(err.message).toMatch(
      /^CELLOS_ARTIFACTS_DIR, CELLOS_ARTIFACTS_RETENTION_SECONDS set with CELLOS_ARTIFACTS_S3_BUCKET: they apply to the host's folder store/,
    );
  });
});

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    workerConfigFromEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}
