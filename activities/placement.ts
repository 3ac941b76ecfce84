// Admitting a cell: validate its document and choose a host. Runs as a local activity on the
// worker that runs the workflow task: no round trip through the server, and the schema code
// (zod) stays out of the workflow sandbox, where it would be loaded again for every cell.
import { ApplicationFailure } from '@temporalio/activity';
import { CellDocumentError } from '../src/document/errors.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import type { CellDocument } from '../src/document/schema.ts';
import { failpoint } from '../src/failpoints.ts';
import { failureTypes } from '../src/failures.ts';

export interface Admission {
  readonly document: CellDocument;
  readonly hostId: string;
}

export function createPlacementActivities({ hostId }: { hostId: string }) {
  return {
    /** Validates the document (non-retryable InvalidCellDocument naming every problem) and places it here. */
    async admitCell(input: { document: unknown }): Promise<Admission> {
      await failpoint('admit');
      try {
        return { document: parseCellDocument(input.document), hostId };
      } catch (err) {
        if (err instanceof CellDocumentError) {
          throw ApplicationFailure.create({
            type: failureTypes.invalidDocument,
            message: err.message,
            nonRetryable: true,
            details: [err.problems],
          });
        }
        throw err;
      }
    },
  };
}
