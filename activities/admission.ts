// Admitting a cell: validate its document and check that some host can ever run it. Runs as a local
// activity on the worker that runs the workflow task: no round trip through the server, and the
// schema code (zod) stays out of the workflow sandbox, where it would be loaded again for every
// cell. Only the few facts the workflow needs enter history, not a second copy of the document.
import { ApplicationFailure } from '@temporalio/activity';
import { failureTypes, type Admission, type CellActivities } from '../src/contract/index.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import { failpoint } from '../src/failpoints.ts';
import { unplaceableReason } from '../src/placement/fit.ts';
import type { HostAd } from '../src/placement/host-ad.ts';
import { formatLabels } from '../src/placement/labels.ts';
import { asActivityFailure } from './failures.ts';

export interface AdmissionDeps {
  readonly hostId: string;
  /**
   * The hosts the cluster knows (from their workers' identities), this one included; undefined
   * when they cannot be listed now, and the cell is then left to wait for a host.
   */
  readonly knownHosts?: ((opts?: { fresh?: boolean }) => Promise<readonly HostAd[] | undefined>) | undefined;
}

export function createAdmissionActivities({ hostId, knownHosts }: AdmissionDeps): Pick<CellActivities, 'admitCell'> {
  return {
    /**
     * Validates the document (non-retryable InvalidCellDocument naming every problem) and fails a
     * cell that no known host could ever run (non-retryable CellUnplaceable).
     */
    async admitCell({ document }: { document: unknown }): Promise<Admission> {
      await failpoint('admit');
      const doc = asActivityFailure(() => parseCellDocument(document));
      const labels = doc.spec.placement?.labels ?? {};
      const needs = { labels, memoryBytes: doc.spec.run.limits.memoryMaxBytes };
      const known = knownHosts ? await knownHosts() : undefined;
      // A list read a moment ago may miss a host that just started: fail only on a fresh one.
      const hosts = known && unplaceableReason(needs, known) && knownHosts ? await knownHosts({ fresh: true }) : known;
      const reason = hosts && unplaceableReason(needs, hosts);
      if (reason) {
        throw ApplicationFailure.nonRetryable(
          `cell ${doc.spec.id} can run on no host: ${reason}; it would wait forever`,
          failureTypes.unplaceable,
        );
      }
      return {
        cellId: doc.spec.id,
        hostId,
        labels: formatLabels(labels),
        ttlSeconds: doc.spec.lifetime.ttlSeconds,
        gracefulShutdownSeconds: doc.spec.run.limits.gracefulShutdownSeconds,
        argv: doc.spec.run.argv,
      };
    },
  };
}
