// `cellos artifacts <cell-id> [name] [-o PATH] [--force] [--json]`: what the latest run of a cell
// exported (spec.export.artifacts), or one artifact's bytes, from its host's folder store or from S3,
// written to a file only once its sha256 checks out.
import { randomUUID } from 'node:crypto';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArtifactLocation } from '../../artifacts/location.ts';
import type { CellArtifacts } from '../../client/artifacts.ts';
import type { ArtifactRecord, RefusedArtifact } from '../../contract/index.ts';
import { ARTIFACT_NAME_PATTERN } from '../../document/artifacts.ts';
import { withCellClient } from '../client.ts';
import { CliExit, EXIT, failure, usageError } from '../exit.ts';
import { formatTable, printable } from '../format.ts';
import type { CliIo, OutputStream } from '../io.ts';
import { createProgress } from '../progress.ts';

export interface ArtifactsOptions {
  /** A cell id, or the workflow id of one run. */
  readonly ref: string;
  /** The artifact to fetch; undefined: list them. */
  readonly name: string | undefined;
  /** Where to write it: a file, or '-' for stdout; undefined: ./<name> (./<name>.tar for a directory). */
  readonly output: string | undefined;
  readonly force: boolean;
  readonly json: boolean;
}

export type ArtifactsOutput =
  | { readonly exitCode: number; readonly listed: CellArtifacts }
  | { readonly exitCode: number; readonly written: { readonly record: ArtifactRecord; readonly path: string } };

export async function artifacts(opts: ArtifactsOptions, io: CliIo): Promise<ArtifactsOutput> {
  return withCellClient(io, async ({ client }, target) => {
    const listed = await client.artifacts(opts.ref);
    if (!listed) {
      throw failure(`no cell ${opts.ref} on ${target.connection.address} (namespace ${target.connection.namespace})`);
    }
    if (opts.name === undefined) {
      if (opts.json) io.stdout.write(`${JSON.stringify(listed)}\n`);
      else if (listed.artifacts.length === 0 && listed.refused.length === 0) {
        io.stderr.write(
          `cell ${listed.cellId} (run ${listed.runId}) exported no artifacts: its document declares none in spec.export.artifacts\n`,
        );
      } else io.stdout.write(`${listing(listed)}\n`);
      return { exitCode: EXIT.ok, listed };
    }
    const record = pick(listed, opts.name);
    const path = opts.output ?? defaultPath(record);
    const abort = new AbortController();
    const stopListening = io.onStopSignal(() => abort.abort());
    const progress = io.stderr.isTTY ? createProgress(io.stderr) : undefined;
    try {
      const s3 = parseArtifactLocation(record.location)?.kind === 's3' ? await s3Settings(io) : undefined;
      const chunks = counted(client.readArtifact(record, { signal: abort.signal, s3 }), (n) =>
        progress?.set(`artifact ${record.name}: ${n} of ${record.bytes} bytes`),
      );
      if (path === '-') await toStream(chunks, io.stdout);
      else await toFile(chunks, path, opts.force);
    } catch (err) {
      if (abort.signal.aborted) throw new CliExit(EXIT.killed, `interrupted: artifact ${record.name} was not written`);
      throw err;
    } finally {
      stopListening();
      progress?.finish();
    }
    const where = path === '-' ? 'stdout' : path;
    if (opts.json && path !== '-') io.stdout.write(`${JSON.stringify({ ...record, path })}\n`);
    else
      io.stderr.write(`artifact ${record.name}: ${record.bytes} bytes, sha256 ${record.sha256}, written to ${where}\n`);
    return { exitCode: EXIT.ok, written: { record, path } };
  });
}

/** The record named `name`; a name the cell did not export is a usage error listing those it did. */
function pick(listed: CellArtifacts, name: string): ArtifactRecord {
  const record = listed.artifacts.find((a) => a.name === name);
  if (record) return record;
  const refused = listed.refused.find((a) => a.name === name);
  if (refused) {
    throw usageError(`artifact ${name} of cell ${listed.cellId} was not exported: ${refused.reason}`);
  }
  const names = listed.artifacts.map((a) => a.name);
  throw usageError(
    names.length === 0
      ? `cell ${listed.cellId} (run ${listed.runId}) exported no artifacts`
      : `cell ${listed.cellId} exported no artifact ${JSON.stringify(name)}; its artifacts: ${names.join(', ')}`,
  );
}

/** ./<name>, or ./<name>.tar for a directory (the name is a file name by the document's rules). */
function defaultPath(record: ArtifactRecord): string {
  if (!ARTIFACT_NAME_PATTERN.test(record.name)) {
    throw usageError(`artifact name ${JSON.stringify(record.name)} is not a safe file name: give -o PATH`);
  }
  return record.kind === 'directory' ? `${record.name}.tar` : record.name;
}

/** The S3 settings of this command's environment: parsed only for an artifact in S3. */
async function s3Settings(io: CliIo) {
  const { s3StoreConfigFromEnv } = await import('../../artifacts/s3-config.ts');
  return s3StoreConfigFromEnv(io.env);
}

async function* counted(chunks: AsyncIterable<Uint8Array>, report: (bytes: number) => void) {
  let bytes = 0;
  for await (const chunk of chunks) {
    bytes += chunk.length;
    report(bytes);
    yield chunk;
  }
}

/** To stdout as it comes: a failed check at the end fails the command, after the bytes went out. */
async function toStream(chunks: AsyncIterable<Uint8Array>, out: OutputStream): Promise<void> {
  for await (const chunk of chunks) {
    if (out.write(chunk) === false) await drained(out);
  }
}

function drained(out: OutputStream): Promise<void> {
  const stream = out as OutputStream & { once?: (event: 'drain', fn: () => void) => unknown };
  return typeof stream.once === 'function'
    ? new Promise<void>((resolve) => stream.once!('drain', resolve))
    : Promise.resolve();
}

/**
 * To a temp file beside `path`, which becomes `path` only once every byte is read and checked.
 * Without `force` an existing `path` is refused, also one that appears meanwhile (a hard link, which
 * fails on an existing name, puts it in place).
 */
async function toFile(chunks: AsyncIterable<Uint8Array>, path: string, force: boolean): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw usageError(`${path} is a directory: give -o a file path`);
  if (existing && !force) throw usageError(`${path} exists: give --force to overwrite it, or -o another path`);
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID().slice(0, 8)}.tmp`);
  let file;
  try {
    file = await open(tmp, 'wx', 0o644);
  } catch (err) {
    throw failure(`cannot write to ${dirname(path)}: ${(err as Error).message}`, err);
  }
  try {
    try {
      for await (const chunk of chunks) {
        for (let done = 0; done < chunk.length;) {
          done += (await file.write(chunk, done, chunk.length - done)).bytesWritten;
        }
      }
      await file.sync();
    } finally {
      await file.close();
    }
    if (force) await rename(tmp, path);
    else {
      await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw usageError(`${path} appeared meanwhile: give --force to overwrite it`);
        throw err;
      });
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

function listing(l: CellArtifacts): string {
  const parts: string[] = [];
  if (l.artifacts.length > 0) {
    parts.push(
      formatTable(
        ['NAME', 'KIND', 'BYTES', 'SHA256', 'WHERE'],
        l.artifacts.map((a) => [a.name, a.kind, String(a.bytes), a.sha256.slice(0, 12), where(a.location)]),
      ),
    );
  }
  if (l.refused.length > 0) {
    if (parts.length > 0) parts.push('');
    parts.push(`refused (declared in spec.export.artifacts, not exported):`);
    parts.push(formatTable(['NAME', 'PATH', 'REASON'], l.refused.map(refusedRow)));
  }
  return parts.join('\n');
}

function refusedRow(r: RefusedArtifact): string[] {
  return [r.name, printable(r.path), r.reason.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')];
}

/** `host <id>` for a host's folder store, the URL for S3. */
function where(location: string): string {
  const parsed = parseArtifactLocation(location);
  if (parsed?.kind === 'folder') return `host ${parsed.hostId}`;
  return printable(location);
}
