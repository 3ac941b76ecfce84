// The checks against Temporal that `cellos doctor` makes: the server answers and has the namespace,
// the namespace has the cell search attributes with their types, and a worker polls this host's
// queues. Every step is bounded (connect; version and namespace; attributes and queues: 5 s each): a
// server that does not answer is a failure, not a hang. Pure: the connection comes in through a
// TemporalProbe (./node-temporal.ts).
import { hostControlTaskQueue, hostTaskQueue, SEARCH_ATTRIBUTES } from '../contract/names.ts';
import { fail, firstLine, ok, skip, warn, withTimeout, type CheckResult } from './result.ts';
import { searchAttributeCreateCommand } from '../client/search-attributes.ts';

export interface Poller {
  readonly identity: string;
  readonly lastAccessTime: Date | undefined;
}

export interface TemporalSession {
  serverVersion(): Promise<string | undefined>;
  /** False when the namespace does not exist. */
  hasNamespace(): Promise<boolean>;
  /** The namespace's custom search attributes: name -> type as Temporal spells it (Keyword, Int, ...). */
  searchAttributes(): Promise<Readonly<Record<string, string>>>;
  /** The workers that polled an activity task queue lately, as the server remembers them. */
  activityPollers(taskQueue: string): Promise<readonly Poller[]>;
  close(): Promise<void>;
}

export interface TemporalProbe {
  /** host:port */
  readonly address: string;
  readonly namespace: string;
  /** TEMPORAL_ADDRESS is unset: the local dev server, which `cellos worker` starts when it is not running. */
  readonly embedded: boolean;
  /** Whether anything accepts connections at the address. */
  listening(): Promise<boolean>;
  /** Connects with the client's settings (TLS, API key) and checks that the server answers. */
  connect(timeoutMs: number): Promise<TemporalSession>;
}

export interface TemporalCheckOptions {
  readonly taskQueue: string;
  readonly hostId: string;
  /** Bound on the connection and on each call. */
  readonly timeoutMs: number;
  readonly now: Date;
}

export const TEMPORAL_TIMEOUT_MS = 5000;
/** A worker renews its long poll at least every ~70 s; a poller not seen for longer has gone. */
export const POLLER_FRESH_MS = 2 * 60_000;

const NAMES = { temporal: 'temporal', attributes: 'search attributes', queue: 'host queue' } as const;

/** The Temporal checks, in the order they are printed: connection, search attributes, host queue. */
export async function checkTemporal(probe: TemporalProbe, opts: TemporalCheckOptions): Promise<CheckResult[]> {
  const { address, namespace } = probe;
  const notChecked = (why: string) => [
    skip(NAMES.attributes, `not checked: ${why}`),
    skip(NAMES.queue, `not checked: ${why}`),
  ];
  const listening = await withTimeout(opts.timeoutMs, address, probe.listening()).catch(() => false);
  if (!listening && probe.embedded) {
    return [
      warn(
        NAMES.temporal,
        `no local dev server at ${address} (TEMPORAL_ADDRESS is unset: the worker uses the local dev server)`,
        '`cellos worker` and `cellos run` start it, `cellos dev` runs it in the foreground; or set TEMPORAL_ADDRESS to your server',
      ),
      ...notChecked('no server yet'),
    ];
  }
  if (!listening) {
    return [
      fail(
        NAMES.temporal,
        `no Temporal server answers at ${address} (TEMPORAL_ADDRESS)`,
        'start the server (`cellos dev`, or `bash scripts/cluster.sh start`), or set TEMPORAL_ADDRESS to its host:port',
      ),
      ...notChecked('no server'),
    ];
  }
  let session: TemporalSession;
  try {
    session = await withTimeout(opts.timeoutMs, `Temporal at ${address}`, probe.connect(opts.timeoutMs));
  } catch (err) {
    return [
      fail(
        NAMES.temporal,
        `${address} accepts connections, but the Temporal client cannot connect: ${firstLine(err)}`,
        `check that ${address} is a Temporal frontend (gRPC port), and TEMPORAL_TLS*, TEMPORAL_API_KEY`,
      ),
      ...notChecked('no server'),
    ];
  }
  const bounded = <T>(what: string, p: Promise<T>) => withTimeout(opts.timeoutMs, what, p);
  try {
    let version: string | undefined;
    try {
      let hasNamespace: boolean;
      [version, hasNamespace] = await bounded(
        `Temporal at ${address}`,
        Promise.all([session.serverVersion(), session.hasNamespace()]),
      );
      if (!hasNamespace) {
        return [
          fail(
            NAMES.temporal,
            `${address} has no namespace ${namespace}`,
            `create it (temporal operator namespace create --namespace ${namespace} --address ${address}), or set TEMPORAL_NAMESPACE`,
          ),
          ...notChecked(`no namespace ${namespace}`),
        ];
      }
    } catch (err) {
      return [
        fail(
          NAMES.temporal,
          `${address}: ${firstLine(err)}`,
          'check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS* and TEMPORAL_API_KEY',
        ),
        ...notChecked('Temporal does not answer'),
      ];
    }
    const connected = ok(
      NAMES.temporal,
      `${address}, namespace ${namespace}${version ? ` (Temporal server ${version})` : ''}${probe.embedded ? ', the local dev server' : ''}`,
    );
    return [
      connected,
      ...(await Promise.all([
        checkSearchAttributes(probe, () => bounded('listing the search attributes', session.searchAttributes())),
        checkHostQueue(opts, (q) => bounded(`describing task queue ${q}`, session.activityPollers(q))),
      ])),
    ];
  } finally {
    await session.close().catch(() => undefined);
  }
}

async function checkSearchAttributes(
  probe: TemporalProbe,
  list: () => Promise<Readonly<Record<string, string>>>,
): Promise<CheckResult> {
  const { address, namespace } = probe;
  let have: Readonly<Record<string, string>>;
  try {
    have = await list();
  } catch (err) {
    return fail(
      NAMES.attributes,
      `cannot list the search attributes of namespace ${namespace}: ${firstLine(err)}`,
      'let this client read the namespace (its API key or certificate), or check them in the UI',
    );
  }
  const missing = SEARCH_ATTRIBUTES.filter((a) => !Object.hasOwn(have, a.name));
  const wrong = SEARCH_ATTRIBUTES.filter(
    (a) => Object.hasOwn(have, a.name) && have[a.name]!.toLowerCase() !== a.type.toLowerCase(),
  );
  const target = `--namespace ${namespace} --address ${address}`;
  const create = (attrs: typeof SEARCH_ATTRIBUTES) => searchAttributeCreateCommand(target, attrs);
  if (wrong.length > 0) {
    return fail(
      NAMES.attributes,
      `namespace ${namespace} has ${wrong.map((a) => `${a.name} as ${have[a.name]}, not ${a.type}`).join('; ')}: the cell workflow cannot set them`,
      `remove them (temporal operator search-attribute remove ${target} ${wrong.map((a) => `--name ${a.name}`).join(' ')}), then: ${create([...wrong, ...missing])}`,
    );
  }
  if (missing.length > 0) {
    return fail(
      NAMES.attributes,
      `namespace ${namespace} lacks ${missing.map((a) => a.name).join(', ')}: the cell workflow sets them, and its tasks fail without them`,
      create(missing),
    );
  }
  return ok(NAMES.attributes, SEARCH_ATTRIBUTES.map((a) => `${a.name} ${a.type}`).join(', '));
}

async function checkHostQueue(
  opts: TemporalCheckOptions,
  pollers: (queue: string) => Promise<readonly Poller[]>,
): Promise<CheckResult> {
  const queue = hostTaskQueue(opts.taskQueue, opts.hostId);
  const control = hostControlTaskQueue(opts.taskQueue, opts.hostId);
  let seen: (readonly Poller[])[];
  try {
    seen = await Promise.all([pollers(queue), pollers(control)]);
  } catch (err) {
    return fail(
      NAMES.queue,
      `cannot describe task queue ${queue}: ${firstLine(err)}`,
      'let this client read the namespace (its API key or certificate)',
    );
  }
  const [onQueue, onControl] = seen.map((ps) => ps.filter((p) => isFresh(p, opts.now)));
  const start = `start \`cellos worker\` on this host with CELLOS_TASK_QUEUE=${opts.taskQueue} and CELLOS_HOST_ID=${opts.hostId}`;
  if (onQueue!.length === 0 && onControl!.length === 0) {
    const last = seen
      .flat()
      .filter((p) => p.lastAccessTime !== undefined)
      .sort((a, b) => +b.lastAccessTime! - +a.lastAccessTime!)[0];
    const ago = last
      ? ` (last polled ${Math.round((+opts.now - +last.lastAccessTime!) / 1000)} s ago by ${last.identity})`
      : '';
    return warn(
      NAMES.queue,
      `no worker polls ${queue}, the queue of host ${opts.hostId}${ago}`,
      `${start}; cells placed on this host wait until one does`,
    );
  }
  if (onControl!.length === 0) {
    return warn(
      NAMES.queue,
      `a worker polls ${queue} but none polls ${control}: kills and removals of this host's cells wait`,
      `restart the worker of host ${opts.hostId} with this version of cellos`,
    );
  }
  if (onQueue!.length === 0) {
    return warn(
      NAMES.queue,
      `a worker polls ${control} but none polls ${queue}: this host's cells cannot run`,
      `restart the worker of host ${opts.hostId} with this version of cellos`,
    );
  }
  const identities = [...new Set(onQueue!.map((p) => p.identity))].join(', ');
  return ok(NAMES.queue, `${queue} and ${control}: polled by ${identities}`);
}

function isFresh(p: Poller, now: Date): boolean {
  return p.lastAccessTime === undefined || +now - +p.lastAccessTime <= POLLER_FRESH_MS;
}
