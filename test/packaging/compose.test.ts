// docker-compose.yml, the Dockerfile and the README's "docker-compose" section agree with each other and
// with the code: every variable the workers set is one the worker reads, the cluster settings are set,
// each worker is a host of its own, the services and ports are the README's, the search attributes are
// src/contract/names.ts's, and the server is the one the native cluster tier (scripts/cluster.sh) runs.
// No container engine runs here: the file is validated by Debian's `docker-compose config` (no daemon
// needed) when it is installed, and structurally below in any case; nothing is pulled or started.
import { load } from 'js-yaml';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../../src/contract/names.ts';
import { repoRoot } from '../helpers/host.ts';

const run = promisify(execFile);
const read = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  privileged?: boolean;
  init?: boolean;
  depends_on?: Record<string, { condition: string }> | string[];
  entrypoint?: string[];
  command?: string[] | string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = load(read('docker-compose.yml')) as Compose;
const services = compose.services;
/** A service of docker-compose.yml (fails the test when it is missing). */
function svc(name: string): Service {
  const service = services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  return service;
}
const workers = Object.keys(services).filter((name) => /^worker-/.test(name));
const dockerfile = read('Dockerfile');

/** The variables src/worker/config.ts reads (`env.CELLOS_X`, `env.TEMPORAL_X`). */
const readByWorker = new Set(
  [...read('src/worker/config.ts').matchAll(/\benv\.((?:CELLOS|TEMPORAL)_[A-Z0-9_]+)/g)].map((m) => m[1]),
);

/** The README's docker-compose table: service name -> host port (undefined: none published). */
function readmeServices(): Map<string, number | undefined> {
  const readme = read('README.md');
  const start = readme.indexOf('### docker-compose');
  expect(start, 'README has a "### docker-compose" section').toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const rows = new Map<string, number | undefined>();
  for (const m of section.matchAll(/^\|\s*`([a-z0-9-]+)`\s*\|[^|]*\|([^|]*)\|\s*$/gm)) {
    const port = /^\s*`(\d+)`/.exec(m[2] ?? '');
    rows.set(m[1] ?? '', port ? Number(port[1]) : undefined);
  }
  return rows;
}

/** Host ports a service publishes (`[ip:]host:container[/proto]`). */
function publishedPorts(service: Service): number[] {
  return (service.ports ?? []).map((spec) => {
    const parts = spec.replace(/\/\w+$/, '').split(':');
    expect(parts.length, spec).toBeGreaterThanOrEqual(2);
    return Number(parts[parts.length - 2]);
  });
}

function script(service: Service): string {
  return Array.isArray(service.command) ? service.command.join('\n') : (service.command ?? '');
}

describe('docker-compose.yml', () => {
  // Debian's docker-compose, installed by scripts/setup.sh: it validates a file without a daemon.
  const dockerCompose = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p));

  it('is valid for `docker-compose config`, and refuses to start without POSTGRES_PASSWORD', async () => {
    expect(
      dockerCompose,
      "docker-compose is missing: run bash scripts/setup.sh (it installs Debian's docker-compose)",
    ).toBeDefined();
    const env = { ...process.env, POSTGRES_PASSWORD: 'test-only', CELLOS_PAYLOAD_KEYS: '' };
    const args = ['-f', join(repoRoot, 'docker-compose.yml'), '-p', 'cellos', 'config'];
    const { stdout } = await run(dockerCompose!, args, { cwd: repoRoot, env });
    expect(stdout).toContain('worker-a');
    const withoutPassword: NodeJS.ProcessEnv = { ...env, POSTGRES_PASSWORD: undefined };
    await expect(run(dockerCompose!, [...args, '-q'], { cwd: repoRoot, env: withoutPassword })).rejects.toThrow(
      /POSTGRES_PASSWORD/,
    );
  });

  it('has the services and published ports the README lists', () => {
    const readme = readmeServices();
    expect([...readme.keys()].sort()).toEqual(Object.keys(services).sort());
    for (const [name, port] of readme) {
      expect(publishedPorts(svc(name)), name).toEqual(port === undefined ? [] : [port]);
      // Nothing is published beyond the loopback: the server has no TLS or authorizer here.
      for (const spec of svc(name).ports ?? []) expect(spec, name).toMatch(/^127\.0\.0\.1:/);
    }
    expect(readme.get('temporal')).toBe(7233);
    expect(readme.get('temporal-ui')).toBe(8080);
  });

  it('runs the PostgreSQL-backed Temporal server and UI of the native cluster, at the same versions', () => {
    const setup = read('scripts/setup.sh');
    const serverVersion = /^CLUSTER_SERVER_VERSION=v(\S+)$/m.exec(setup)?.[1];
    const uiVersion = /^CLUSTER_UI_VERSION=v(\S+)$/m.exec(setup)?.[1];
    expect(svc('temporal').image).toBe(`temporalio/server:${serverVersion}`);
    expect(svc('temporal-schema').image).toBe(`temporalio/admin-tools:${serverVersion}`);
    expect(svc('temporal-setup').image).toBe(`temporalio/admin-tools:${serverVersion}`);
    expect(svc('temporal-ui').image).toBe(`temporalio/ui:${uiVersion}`);
    expect(svc('postgresql').image).toMatch(/^postgres:\d+/);
    expect(svc('postgresql').volumes?.some((v) => /^[a-z0-9-]+:\/var\/lib\/postgresql\/data$/.test(v))).toBe(true);

    const env = svc('temporal').environment ?? {};
    expect(env.DB).toBe('postgres12');
    expect(env.POSTGRES_SEEDS).toBe('postgresql');
    expect(env.VISIBILITY_DBNAME).toBe('temporal_visibility');
    // The same dynamic config file as scripts/cluster.sh.
    const mount = svc('temporal').volumes?.find((v) => v.includes('dynamic-config.yaml'));
    expect(mount?.split(':')[0]).toBe('./scripts/cluster/dynamic-config.yaml');
    expect(mount?.split(':')[1]).toBe(env.DYNAMIC_CONFIG_FILE_PATH);
    expect(read('scripts/cluster.sh')).toContain('dynamic-config.yaml');

    // Schemas: both databases, the server's versioned PostgreSQL v12 schemas.
    const schema = script(svc('temporal-schema'));
    expect(schema).toMatch(/temporal-sql-tool --plugin postgres12/);
    expect(schema).toContain('/etc/temporal/schema/postgresql/v12/$$db/versioned');
    expect(schema).toContain('temporal_visibility');

    expect(svc('temporal-ui').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('creates the default namespace and registers exactly the cell search attributes', () => {
    const setup = script(svc('temporal-setup'));
    expect(setup).toMatch(/temporal operator namespace create -n default\b/);
    const registered = [...setup.matchAll(/^\s*register (\w+) (\w+)$/gm)].map((m) => ({ name: m[1], type: m[2] }));
    expect(registered).toEqual(SEARCH_ATTRIBUTES.map(({ name, type }) => ({ name, type })));
  });

  it('runs two workers, each its own host: distinct host id and state volume, the cluster settings set', () => {
    expect(workers).toEqual(['worker-a', 'worker-b']);
    const hostIds = new Set<string>();
    const stateVolumes = new Set<string>();
    for (const name of workers) {
      const worker = svc(name);
      const env = worker.environment ?? {};
      expect(worker.build, name).toBeDefined();
      for (const required of ['TEMPORAL_ADDRESS', 'CELLOS_HOST_ID', 'CELLOS_STATE_DIR']) {
        expect(env[required], `${name} ${required}`).toBeTruthy();
      }
      expect(env.TEMPORAL_ADDRESS).toBe(`temporal:${publishedPorts(svc('temporal'))[0]}`);
      for (const setting of [
        'CELLOS_MAX_CELLS',
        'CELLOS_MEMORY_BUDGET_BYTES',
        'CELLOS_HOST_LABELS',
        'CELLOS_DRAIN_TIMEOUT_SECONDS',
        'CELLOS_DEFAULT_MEMORY_BYTES',
        'CELLOS_MAX_MEMORY_BYTES',
        'CELLOS_METRICS_ADDRESS',
        'CELLOS_PAYLOAD_KEYS',
      ]) {
        expect(Object.keys(env), `${name} sets ${setting}`).toContain(setting);
      }
      expect(Number(env.CELLOS_DEFAULT_MEMORY_BYTES)).toBeLessThanOrEqual(Number(env.CELLOS_MAX_MEMORY_BYTES));
      // Every variable set is one the worker reads (a misspelt one would be silently ignored).
      for (const variable of Object.keys(env)) {
        expect(readByWorker.has(variable), `${name} sets ${variable}, which src/worker/config.ts does not read`).toBe(
          true,
        );
      }
      hostIds.add(env.CELLOS_HOST_ID ?? '');
      // A named volume (declared at the top level) mounted at the state folder.
      const state = worker.volumes?.find((v) => v.split(':')[1] === env.CELLOS_STATE_DIR);
      const volume = state?.split(':')[0] ?? '';
      expect(volume, `${name} has a volume at ${env.CELLOS_STATE_DIR}`).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
      expect(Object.keys(compose.volumes ?? {})).toContain(volume);
      stateVolumes.add(volume);
      expect(worker.init, `${name}: an init reaps runsc's processes`).toBe(true);
      expect(worker.ports ?? [], `${name} publishes nothing`).toEqual([]);
      expect(worker.depends_on).toMatchObject({ 'temporal-setup': { condition: 'service_completed_successfully' } });
    }
    expect(hostIds.size).toBe(workers.length);
    expect(stateVolumes.size).toBe(workers.length);
  });

  it('takes the payload keys from the host environment, never from the file', () => {
    for (const name of workers) {
      expect(svc(name).environment?.CELLOS_PAYLOAD_KEYS).toMatch(/^\$\{CELLOS_PAYLOAD_KEYS(:[-?][^}]*)?\}$/);
    }
  });
});

describe('Dockerfile', () => {
  it('installs runsc and busybox-static on Debian bookworm, builds dist/ and runs `cellos worker`', () => {
    expect(dockerfile).toMatch(/^FROM node:20-bookworm/m);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\brunsc\b[^\n]*\bbusybox-static\b/);
    expect(dockerfile).toMatch(/npx tsc -p tsconfig\.build\.json/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/cellos\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["worker"\]$/m);
  });

  it('builds the default rootfs where CELLOS_DEFAULT_ROOTFS points, and sets only variables the worker reads', () => {
    const rootfs = /^ARG ROOTFS=(\S+)$/m.exec(dockerfile)?.[1];
    expect(dockerfile).toContain(`CELLOS_DEFAULT_ROOTFS=${rootfs}`);
    expect(dockerfile).toContain('install -m 0755 /bin/busybox bin/busybox');
    const envBlock = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile)?.[1] ?? '';
    for (const m of envBlock.matchAll(/\b((?:CELLOS|TEMPORAL)_[A-Z0-9_]+)=/g)) {
      expect(readByWorker.has(m[1]), `Dockerfile sets ${m[1]}`).toBe(true);
    }
  });

  it('copies only what exists and the .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of (m[1] ?? '').split(/\s+/)) {
        expect(existsSync(join(repoRoot, source)), `COPY ${source}`).toBe(true);
        expect(ignored, `COPY ${source} is excluded by .dockerignore`).not.toContain(source);
      }
    }
  });
});
