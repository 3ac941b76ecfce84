export interface OutputTail {
  /** The last bytes captured, as text. */
  readonly tail: string;
  /** Bytes captured in the file (at most the document's cap). */
  readonly bytes: number;
  /** Bytes the workload wrote past the cap, which were dropped. */
  readonly droppedBytes: number;
}

export const EMPTY_OUTPUT: OutputTail = { tail: '', bytes: 0, droppedBytes: 0 };
