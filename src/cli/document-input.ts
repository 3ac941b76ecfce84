// Reading the document a command names: a file, or `-` for stdin. Parsed once here; inside, the
// commands trust the type.
import { readFile } from 'node:fs/promises';
import { parseCellDocument, parseCellDocumentText } from '../document/parse.ts';
import type { CellDocument } from '../document/schema.ts';
import { usageError } from './exit.ts';
import type { CliIo } from './io.ts';

export interface DocumentInput {
  /** The document as written (what the workflow gets and validates again). */
  readonly raw: unknown;
  /** Validated, with defaults. */
  readonly doc: CellDocument;
  /** `stdin` or the file name, for messages. */
  readonly source: string;
}

/** Reads and validates; throws CellDocumentError listing every problem (exit 3). */
export async function readDocument(file: string, io: Pick<CliIo, 'stdin'>): Promise<DocumentInput> {
  const source = file === '-' ? 'stdin' : file;
  const text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8').catch(unreadable(file));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The same error with our wording for the user.
    parseCellDocumentText(text, source);
  }
  return { raw, doc: parseCellDocument(raw), source };
}

async function readAll(stream: AsyncIterable<string | Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

function unreadable(file: string) {
  return (err: NodeJS.ErrnoException): never => {
    const why =
      err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : (err.code ?? err.message);
    throw usageError(`cannot read the document ${file}: ${why}`);
  };
}
