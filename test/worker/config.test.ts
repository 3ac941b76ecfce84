// CELLOS_METRICS_ADDRESS: an address Temporal's Prometheus exporter can bind, or a message naming it.
import { describe, expect, it } from 'vitest';
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
