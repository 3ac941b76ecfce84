// Reading the document a command names: a file, or `-` for stdin. The commands that hand it to the
// client (`run`, `schedule create`) make it a ValidCell, which the client takes without validating
// again; the commands without a client (`exec`, `bundle`) validate it here. Either way a bad
// document exits 3 before anything starts.
import { readFile } from 'node:fs/promises';
import { parseCellDocument, parseCellDocumentText } from '../document/parse.ts';
import type { CellDocument } from '../document/schema.ts';
import { usageError } from './exit.ts';
import type { CliIo } from './io.ts';

/** Reads and decodes the JSON text; throws CellDocumentError (exit 3) when it is not JSON. Not validated. */
export async function readDocumentJson(file: string, io: Pick<CliIo, 'stdin'>): Promise<unknown> {
  const source = file === '-' ? 'stdin' : file;
  const text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8').catch(unreadable(file));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Throws the same error, in our words for the user.
    return parseCellDocumentText(text, source);
  }
}

/** Reads and validates; throws CellDocumentError listing every problem (exit 3). */
export async function readCellDocument(file: string, io: Pick<CliIo, 'stdin'>): Promise<CellDocument> {
  return parseCellDocument(await readDocumentJson(file, io));
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
