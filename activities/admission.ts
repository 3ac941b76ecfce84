// Admitting a cell: validate its document and check that some host can ever run it. Runs as a local
// activity on the worker that runs the workflow task: no round trip through the server, and the
// schema code (zod) stays out of the workflow sandbox, where it would be loaded again for every
// cell. Only the few facts the workflow needs enter history, not a second copy of the document.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BlindIndex } from '../src/codec/blind-index.ts';
import { failureTypes, type Admission, type CellActivities } from '../src/contract/index.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import { failpoint } from '../src/failpoints.ts';
import { unplaceableReason } from '../src/placement/fit.ts';
import type { HostAd } from '../src/placement/host-ad.ts';
import { formatLabels } from '../src/placement/labels.ts';
import type { ClaimHere } from './claim.ts';
import { asActivityFailure } from './failures.ts';

export interface AdmissionDeps {
  readonly hostId: string;
  /**
   * The hosts the cluster knows (from their workers' identities), this one included; undefined
   * when they cannot be listed now, and the cell is then left to wait for a host.
   */
  readonly knownHosts?: ((opts?: { fresh?: boolean }) => Promise<readonly HostAd[] | undefined>) | undefined;
  /**
   * This worker's host, when it is one: a cell it has room for is claimed here and then, with no
   * launch queue, claim activity or workflow task in between (~20 ms of round trips).
   */
  readonly claimHere?: ClaimHere | undefined;
  /**
   * The server hands activities back with a workflow task's completion (its dynamic config
   * system.enableActivityEagerExecution): a cell claimed here has its run sent to the workflow's own
   * queue, where that comes back to this worker (CELLOS_EAGER_RUN).
   */
  readonly eagerRun?: boolean | undefined;
  /** This worker delivers lifecycle events (CELLOS_EVENTS_URL): the cells it admits emit them. */
  readonly events?: boolean | undefined;
  /** With payload keys: the blind index the correlation id is searchable under instead of itself. */
  readonly blindIndex?: BlindIndex | undefined;
  /** Whether the namespace has the cell search attributes (for callers that do not say). */
  readonly searchAttributesRegistered?: (() => Promise<boolean>) | undefined;
  /** CELLOS_HOST_TIMEOUT_SECONDS of this worker (for callers that do not say). */
  readonly hostScheduleToStartSeconds?: number | undefined;
}

export function createAdmissionActivities({
  hostId,
  knownHosts,
  claimHere,
  eagerRun = false,
  events = false,
  blindIndex,
  searchAttributesRegistered,
  hostScheduleToStartSeconds,
}: AdmissionDeps): Pick<CellActivities, 'admitCell'> {
  return {
    /**
     * Validates the document (non-retryable InvalidCellDocument naming every problem), fails a
     * cell that no known host could ever run (non-retryable CellUnplaceable), and claims the cell
     * for this worker's host when it has room (claimedBy).
     */
    async admitCell({ document, claim = false }: { document: unknown; claim?: boolean }): Promise<Admission> {
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
      const admission: Admission = {
        cellId: doc.spec.id,
        hostId,
        labels: formatLabels(labels),
        ttlSeconds: doc.spec.lifetime.ttlSeconds,
        gracefulShutdownSeconds: doc.spec.run.limits.gracefulShutdownSeconds,
        argv: doc.spec.run.argv,
        ...(await correlationOf(doc.spec.correlation?.correlationId, blindIndex)),
        ...(events ? { events } : {}),
        ...(searchAttributesRegistered ? { indexed: await searchAttributesRegistered() } : {}),
        ...(hostScheduleToStartSeconds ? { hostScheduleToStartSeconds } : {}),
      };
      // The claim comes last, with nothing awaited after it, and not once this activity is cancelled
      // or timed out: its workflow would never learn of a claim made then, and the host would hold
      // the cell's room and bundle until the claim's hold and the reconciler let go of them.
      const ctx = Context.current();
      const runKey = ctx.info.workflowExecution?.runId;
      let claimed = false;
      try {
        claimed =
          claim &&
          claimHere !== undefined &&
          runKey !== undefined &&
          !ctx.cancellationSignal.aborted &&
          claimHere(doc, runKey) === undefined;
      } catch {
        // Whatever stops a claim here (its memory, say) is the claim activity's to report.
      }
      return claimed ? { claimedBy: hostId, ...(eagerRun ? { eagerRun } : {}), ...admission } : admission;
    },
  };
}

async function correlationOf(
  correlationId: string | undefined,
  blindIndex: BlindIndex | undefined,
): Promise<Pick<Admission, 'correlationId' | 'correlationIndex'>> {
  if (!correlationId) return {};
  return blindIndex ? { correlationId, correlationIndex: await blindIndex.index(correlationId) } : { correlationId };
}
