// The bench's command line, normalised in one place:
//   npm run bench -- [--latency=30] [--throughput=40] [--concurrency=1,4,8] [--pool=8] [--memory=300]
//                    [--edge-throughput]
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Cells per series for the latency percentiles, run one at a time. */
  readonly latency: number;
  /** Cells per throughput run; each series runs twice per level (ABBA). */
  readonly throughput: number;
  /** Cells in flight of the throughput levels, ascending. */
  readonly concurrency: readonly number[];
  /** Warm sandboxes the warm host keeps (its HostConfigInput.warmPoolSize). */
  readonly pool: number;
  /** Cells through Temporal at the second reading of the worker's memory. */
  readonly memory: number;
  /** Whether the edge alone (runCell, cold and warm) runs in the throughput levels too. */
  readonly edgeThroughput: boolean;
}

/** Cells per series before anything is measured: the first sandbox, the first workflows, the JIT. */
export const WARMUP_PER_SERIES = 5;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        latency: { type: 'string', default: '30' },
        throughput: { type: 'string', default: '40' },
        concurrency: { type: 'string', default: '1,4,8' },
        pool: { type: 'string', default: '8' },
        memory: { type: 'string', default: '300' },
        'edge-throughput': { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  const concurrency = values.concurrency.split(',').map((c) => wholeNumber('concurrency', c.trim(), 1));
  const memory = wholeNumber('memory', values.memory, 2 * WARMUP_PER_SERIES);
  return {
    latency: wholeNumber('latency', values.latency, 1),
    throughput: wholeNumber('throughput', values.throughput, 1),
    concurrency: [...new Set(concurrency)].sort((a, b) => a - b),
    pool: wholeNumber('pool', values.pool, 1),
    memory,
    edgeThroughput: values['edge-throughput'],
  };
}

export function wholeNumber(option: string, value: string, min: number): number {
  const n = Number(value);
  if (value === '' || !Number.isSafeInteger(n) || n < min) {
    throw new BenchUsageError(`--${option} ${JSON.stringify(value)} must be a whole number >= ${min}`);
  }
  return n;
}
