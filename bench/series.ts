// The five ways the bench runs one trivial cell (`/bin/true`): raw `runsc run` of the cold host's
// bundle for it, the edge alone (runCell, no Temporal) on the cold and on the warm host, and
// through Temporal (CellClient.run: client start to result) on each host's queue.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CellClient } from '../src/client/index.ts';
import { runCell, type CellHost } from '../src/host/index.ts';
import { describeOutcome, parseCellDocument, type CellResultOutcome } from '../src/index.ts';

const exec = promisify(execFile);

export const SERIES = ['raw', 'edge-cold', 'edge-warm', 'temporal-cold', 'temporal-warm'] as const;
export type Series = (typeof SERIES)[number];

export const SERIES_LABEL: Record<Series, string> = {
  raw: 'raw runsc run',
  'edge-cold': 'edge alone, cold',
  'edge-warm': 'edge alone, warm',
  'temporal-cold': 'Temporal, cold',
  'temporal-warm': 'Temporal, warm',
};

/** The document every series runs. */
export function trivialCell(id: string) {
  return {
    apiVersion: 'cellos.io/v1',
    kind: 'ExecutionCell',
    spec: { id, authority: { secretRefs: [] }, lifetime: { ttlSeconds: 60 }, run: { argv: ['/bin/true'] } },
  };
}

export interface SeriesDeps {
  readonly cold: CellHost;
  readonly warm: CellHost;
  readonly clients: { readonly cold: CellClient; readonly warm: CellClient };
  /**
   * Bundles of trivialCell prepared by the cold host, one per raw cell in flight: `runsc run`
   * creates its bundle's cgroup and removes it when it returns, so two runs of one bundle race.
   */
  readonly rawBundles: readonly string[];
}

export interface CellRunner {
  /** Runs one cell the series' way; throws unless it exits 0. */
  run(series: Series): Promise<void>;
  /** Cells run through Temporal so far. */
  readonly temporalCells: number;
}

export function createCellRunner(deps: SeriesDeps): CellRunner {
  const { cold, warm, clients } = deps;
  const freeBundles = [...deps.rawBundles];
  const rawFlags = cold.runsc.globalFlags('none');
  let seq = 0;
  let temporalCells = 0;
  const doc = () => trivialCell(`bench-${++seq}`);
  const check = (series: Series, outcome: CellResultOutcome) => {
    if (outcome.kind !== 'exited' || outcome.code !== 0) {
      throw new Error(`a ${SERIES_LABEL[series]} cell failed: ${describeOutcome(outcome)}`);
    }
  };
  const viaTemporal = async (series: Series, client: CellClient) => {
    const result = await client.run(doc());
    temporalCells++;
    check(series, result.outcome);
  };
  const ways: Record<Series, () => Promise<void>> = {
    async raw() {
      // One fixed length: runsc matches container ids by prefix.
      const id = `raw-${process.pid}-${++seq}`.padEnd(41, '_');
      const bundle = freeBundles.pop();
      if (bundle === undefined) throw new Error(`more than ${deps.rawBundles.length} raw cells in flight`);
      try {
        await exec(cold.config.runscPath, [...rawFlags, 'run', '--bundle', bundle, id], { maxBuffer: 1 << 20 });
      } finally {
        freeBundles.push(bundle);
      }
    },
    'edge-cold': async () => check('edge-cold', (await runCell(cold, parseCellDocument(doc()))).outcome),
    'edge-warm': async () => check('edge-warm', (await runCell(warm, parseCellDocument(doc()))).outcome),
    'temporal-cold': () => viaTemporal('temporal-cold', clients.cold),
    'temporal-warm': () => viaTemporal('temporal-warm', clients.warm),
  };
  return {
    run: (series) => ways[series](),
    get temporalCells() {
      return temporalCells;
    },
  };
}
