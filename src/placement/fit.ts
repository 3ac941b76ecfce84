// Whether any host known to the cluster can ever run a cell: a cell no host can satisfy fails at
// once instead of waiting in a queue no host polls. Pure.
import type { HostAd } from './host-ad.ts';
import { formatLabels, satisfies, type Labels } from './labels.ts';

export interface CellNeeds {
  readonly labels: Labels;
  /** The memory limit the document sets, if it sets one (otherwise each host's default applies). */
  readonly memoryBytes: number | undefined;
}

/** Why no host in `hosts` can ever run the cell, or undefined when one can (or none is known). */
export function unplaceableReason(needs: CellNeeds, hosts: readonly HostAd[]): string | undefined {
  if (hosts.length === 0) return undefined; // nothing known yet: the cell waits for a host
  const labelled = hosts.filter((h) => satisfies(h.labels, needs.labels));
  const seen = hosts
    .map((h) => `${h.hostId}${Object.keys(h.labels).length ? ` {${formatLabels(h.labels)}}` : ''}`)
    .join(', ');
  if (labelled.length === 0) {
    return `spec.placement.labels {${formatLabels(needs.labels)}}: no host has these labels (hosts: ${seen})`;
  }
  const memory = needs.memoryBytes;
  if (memory !== undefined && !labelled.some((h) => memory <= Math.min(h.memoryBudgetBytes, h.maxCellMemoryBytes))) {
    const most = Math.max(...labelled.map((h) => Math.min(h.memoryBudgetBytes, h.maxCellMemoryBytes)));
    return `spec.run.limits.memoryMaxBytes ${memory}: more than any host with the cell's labels gives one cell (at most ${most})`;
  }
  return undefined;
}
