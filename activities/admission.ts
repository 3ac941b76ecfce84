// Admitting a cell: validate its document and choose a host. Runs as a local activity on the
// worker that runs the workflow task: no round trip through the server, and the schema code (zod)
// stays out of the workflow sandbox, where it would be loaded again for every cell. Only the few
// facts the workflow needs enter history, not a second copy of the document.
import type { Admission, CellActivities } from '../src/contract/index.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import { failpoint } from '../src/failpoints.ts';
import { asActivityFailure } from './failures.ts';

export function createAdmissionActivities({ hostId }: { hostId: string }): Pick<CellActivities, 'admitCell'> {
  return {
    /** Validates the document (non-retryable InvalidCellDocument naming every problem) and places it here. */
    async admitCell({ document }: { document: unknown }): Promise<Admission> {
      await failpoint('admit');
      const doc = asActivityFailure(() => parseCellDocument(document));
      return {
        cellId: doc.spec.id,
        hostId,
        ttlSeconds: doc.spec.lifetime.ttlSeconds,
        gracefulShutdownSeconds: doc.spec.run.limits.gracefulShutdownSeconds,
        argv: doc.spec.run.argv,
      };
    },
  };
}
