/** One problem in a cell document: where (JSON path) and which rule it breaks. */
export interface DocumentProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * A document that breaks the schema: thrown by parseCellDocument (the client, admission and the host
 * each call it at their boundary). Lists every problem, never a stack trace for the user.
 */
export class CellDocumentError extends Error {
  override readonly name = 'CellDocumentError';
  readonly failureType = 'InvalidCellDocument';
  readonly problems: readonly DocumentProblem[];

  constructor(problems: readonly DocumentProblem[]) {
    super(`invalid cell document:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    this.problems = problems;
  }
}
