// The doctor's Temporal checks against a fake server: what each finds, the fix it names, and that a
// server that never answers ends as a failure within the bound instead of a hang.
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES, hostControlTaskQueue, hostTaskQueue } from '../../src/contract/names.ts';
import {
  checkTemporal,
  type Poller,
  type TemporalProbe,
  type TemporalSession,
} from '../../src/doctor/temporal-checks.ts';

const NOW = new Date('2026-12-01T12:00:00Z');
const ADDRESS = 'temporal.example:7233';
const QUEUE = hostTaskQueue('cellos', 'h1');
const CONTROL = hostControlTaskQueue('cellos', 'h1');
const ALL_ATTRIBUTES = Object.fromEntries(SEARCH_ATTRIBUTES.map((a) => [a.name, a.type]));
const never = <T>() => new Promise<T>(() => undefined);
const secondsAgo = (s: number) => new Date(+NOW - s * 1000);

interface FakeServer {
  listening?: () => Promise<boolean>;
  connect?: () => Promise<void>;
  hasNamespace?: boolean;
  searchAttributes?: () => Promise<Record<string, string>>;
  pollers?: Record<string, Poller[]>;
  embedded?: boolean;
}

function fakeTemporal(server: FakeServer = {}): TemporalProbe & { closed: number } {
  const probe = {
    address: ADDRESS,
    namespace: 'default',
    embedded: server.embedded ?? false,
    closed: 0,
    listening: server.listening ?? (async () => true),
    async connect(): Promise<TemporalSession> {
      await server.connect?.();
      return {
        serverVersion: async () => '1.29.1',
        hasNamespace: async () => server.hasNamespace ?? true,
        searchAttributes: server.searchAttributes ?? (async () => ({ ...ALL_ATTRIBUTES, CustomField: 'Text' })),
        activityPollers: async (q) =>
          server.pollers?.[q] ?? [{ identity: '123@host-a', lastAccessTime: secondsAgo(5) }],
        close: async () => {
          probe.closed++;
        },
      };
    },
  };
  return probe;
}

const run = (probe: TemporalProbe, timeoutMs = 5000) =>
  checkTemporal(probe, { taskQueue: 'cellos', hostId: 'h1', timeoutMs, now: NOW });

describe('the Temporal checks', () => {
  it('are ok when the server answers, has the attributes, and a worker polls the host queues', async () => {
    const probe = fakeTemporal();
    expect(await run(probe)).toEqual([
      { name: 'temporal', status: 'ok', detail: `${ADDRESS}, namespace default (Temporal server 1.29.1)` },
      {
        name: 'search attributes',
        status: 'ok',
        detail: SEARCH_ATTRIBUTES.map((a) => `${a.name} ${a.type}`).join(', '),
      },
      { name: 'host queue', status: 'ok', detail: `${QUEUE} and ${CONTROL}: polled by 123@host-a` },
    ]);
    expect(probe.closed).toBe(1);
  });

  it('fail naming the address and what to do when nothing listens at TEMPORAL_ADDRESS', async () => {
    const results = await run(fakeTemporal({ listening: async () => false }));
    expect(results[0]).toEqual({
      name: 'temporal',
      status: 'fail',
      detail: `no Temporal server answers at ${ADDRESS} (TEMPORAL_ADDRESS)`,
      fix: 'start the server (`cellos dev`, or `bash scripts/cluster.sh start`), or set TEMPORAL_ADDRESS to its host:port',
    });
    expect(results.slice(1).map((r) => [r.name, r.status])).toEqual([
      ['search attributes', 'skip'],
      ['host queue', 'skip'],
    ]);
  });

  it('only warn when the local dev server is not running yet: the worker starts it', async () => {
    const results = await run(fakeTemporal({ embedded: true, listening: async () => false }));
    expect(results[0]).toMatchObject({ status: 'warn', detail: expect.stringContaining('no local dev server') });
  });

  it('fail within the bound when the server accepts connections but never answers', async () => {
    const started = Date.now();
    const results = await run(fakeTemporal({ connect: never }), 100);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(results[0]).toMatchObject({
      status: 'fail',
      detail: `${ADDRESS} accepts connections, but the Temporal client cannot connect: Temporal at ${ADDRESS} did not answer within 0.1 s`,
    });
  });

  it('fail within the bound when the connection attempt itself hangs', async () => {
    const results = await run(fakeTemporal({ listening: never }), 100);
    expect(results[0]).toMatchObject({ status: 'fail', detail: expect.stringContaining(ADDRESS) });
  });

  it('fail when the namespace does not exist, with the command that creates it', async () => {
    const [r] = await run(fakeTemporal({ hasNamespace: false }));
    expect(r).toMatchObject({
      status: 'fail',
      detail: `${ADDRESS} has no namespace default`,
      fix: `create it (temporal operator namespace create --namespace default --address ${ADDRESS}), or set TEMPORAL_NAMESPACE`,
    });
  });
});

describe('the search attributes', () => {
  it('fail naming each missing one, with the command that registers exactly those', async () => {
    const have = { ...ALL_ATTRIBUTES };
    delete have.CellExitCode;
    delete have.CellHost;
    const [, r] = await run(fakeTemporal({ searchAttributes: async () => have }));
    expect(r!.status).toBe('fail');
    expect(r!.detail).toMatch(/^namespace default lacks CellExitCode, CellHost: /);
    expect(r!.fix).toBe(
      `temporal operator search-attribute create --namespace default --address ${ADDRESS} --name CellExitCode --type Int --name CellHost --type Keyword`,
    );
  });

  it('fail on one registered with another type', async () => {
    const [, r] = await run(
      fakeTemporal({ searchAttributes: async () => ({ ...ALL_ATTRIBUTES, CellExitCode: 'Keyword' }) }),
    );
    expect(r!.status).toBe('fail');
    expect(r!.detail).toContain('CellExitCode as Keyword, not Int');
    expect(r!.fix).toContain('search-attribute remove');
  });

  it('fail within the bound when listing them never returns', async () => {
    const results = await run(fakeTemporal({ searchAttributes: never }), 100);
    expect(results.map((r) => r.status)).toEqual(['ok', 'fail', 'ok']);
    expect(results[1]!.detail).toContain('did not answer within 0.1 s');
  });
});

describe('the host queue', () => {
  it('warns, without failing, when no worker polls it, naming the settings of the worker to start', async () => {
    const [, , r] = await run(fakeTemporal({ pollers: { [QUEUE]: [], [CONTROL]: [] } }));
    expect(r).toEqual({
      name: 'host queue',
      status: 'warn',
      detail: `no worker polls ${QUEUE}, the queue of host h1`,
      fix: 'start `cellos worker` on this host with CELLOS_TASK_QUEUE=cellos and CELLOS_HOST_ID=h1; cells placed on this host wait until one does',
    });
  });

  it('takes a poller not seen for minutes for a worker that has gone, and says when it last polled', async () => {
    const gone = [{ identity: '99@old', lastAccessTime: secondsAgo(180) }];
    const [, , r] = await run(fakeTemporal({ pollers: { [QUEUE]: gone, [CONTROL]: gone } }));
    expect(r).toMatchObject({
      status: 'warn',
      detail: `no worker polls ${QUEUE}, the queue of host h1 (last polled 180 s ago by 99@old)`,
    });
  });

  it('warns when the control queue has no worker', async () => {
    const [, , r] = await run(fakeTemporal({ pollers: { [CONTROL]: [] } }));
    expect(r).toMatchObject({ status: 'warn', detail: expect.stringContaining(`none polls ${CONTROL}`) });
  });
});
