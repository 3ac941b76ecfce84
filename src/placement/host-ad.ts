// What a host advertises about itself to the cluster, carried in its workers' identity: Temporal
// lists the pollers of a task queue with their identities, so any worker (admission) or client
// (`cellos hosts`) learns the hosts, their labels and their size from the server alone, with no
// registry to keep. Pure.
import { formatLabels, parseLabels, type Labels } from './labels.ts';

export interface HostAd {
  readonly hostId: string;
  readonly labels: Labels;
  /** The most cells it runs at once. */
  readonly maxCells: number;
  /** The sum of the memory limits of the cells it runs at once. */
  readonly memoryBudgetBytes: number;
  /** The most memory one cell may ask for there. */
  readonly maxCellMemoryBytes: number;
}

const PREFIX = 'cellos-host';

/** `cellos-host <hostId> labels=<k=v,...> cells=<n> memory=<bytes> cell-memory=<bytes> <pid>@<machine>`. */
export function formatHostIdentity(ad: HostAd, processName: string): string {
  return [
    PREFIX,
    ad.hostId,
    `labels=${formatLabels(ad.labels)}`,
    `cells=${ad.maxCells}`,
    `memory=${ad.memoryBudgetBytes}`,
    `cell-memory=${ad.maxCellMemoryBytes}`,
    processName,
  ].join(' ');
}

/** The host a worker identity advertises, or undefined for any other worker (or a malformed one). */
export function parseHostIdentity(identity: string): HostAd | undefined {
  const words = identity.split(' ');
  if (words[0] !== PREFIX || words.length < 6) return undefined;
  const fields = new Map<string, string>();
  for (const w of words.slice(2)) {
    const eq = w.indexOf('=');
    if (eq > 0) fields.set(w.slice(0, eq), w.slice(eq + 1));
  }
  // Decimal digits only, as formatHostIdentity writes them: Number() would read `cells=` as 0.
  const num = (k: string) => {
    const text = fields.get(k);
    const n = Number(text);
    return text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(n) ? n : undefined;
  };
  const maxCells = num('cells');
  const memoryBudgetBytes = num('memory');
  const maxCellMemoryBytes = num('cell-memory');
  const hostId = words[1];
  if (!hostId || maxCells === undefined || memoryBudgetBytes === undefined || maxCellMemoryBytes === undefined) {
    return undefined;
  }
  let labels: Labels;
  try {
    labels = parseLabels(fields.get('labels') ?? '');
  } catch {
    return undefined;
  }
  return { hostId, labels, maxCells, memoryBudgetBytes, maxCellMemoryBytes };
}
