// CELLOS_METRICS_ADDRESS and CELLOS_EVENTS_URL: values the worker can use, or a message naming the variable.
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
