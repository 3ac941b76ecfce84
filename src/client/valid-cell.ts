// A document the client has validated, kept with the document as given: the CLI validates before it
// starts a dev server or connects (a fast exit 3), and CellClient.start / schedules.create take the
// result without validating again. No Temporal import: the CLI loads this before the client.
import { parseCellDocument } from '../document/parse.ts';
import type { CellDocument } from '../document/schema.ts';

export class ValidCell {
  /** The document as given: what the workflow gets and history keeps (never the defaulted copy). */
  readonly document: unknown;
  /** The same document validated, with defaults applied. */
  readonly parsed: CellDocument;

  private constructor(document: unknown, parsed: CellDocument) {
    this.document = document;
    this.parsed = parsed;
  }

  /** Validates `document`; throws CellDocumentError listing every problem. */
  static from(document: unknown): ValidCell {
    return document instanceof ValidCell ? document : new ValidCell(document, parseCellDocument(document));
  }
}
