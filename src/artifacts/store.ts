// Where a cell's exported artifacts go (spec.export.artifacts): the host's folder store by default,
// an S3-compatible object store when configured. The collector (collect.ts) has already copied an
// artifact out of the cell's scratch mount into a host file it owns and hashed it; a store only
// keeps that file and reads it back, in chunks small enough for a Temporal payload.

/** How an artifact came out: one regular file as it is, or a directory as a tar of it. */
export type ArtifactKind = 'file' | 'directory';

/** An artifact as the CellResult lists it: never its content. */
export interface ArtifactRecord {
  /** spec.export.artifacts[].name */
  readonly name: string;
  /** spec.export.artifacts[].path, inside the sandbox. */
  readonly path: string;
  readonly kind: ArtifactKind;
  /** Bytes stored: the file's, or the tar's for a directory. */
  readonly bytes: number;
  /** Lowercase hex sha256 of the stored bytes. */
  readonly sha256: string;
  /** Where it is stored, as the store names it: `folder:<hostId>:<sha256>` or `s3://<bucket>/<key>`. */
  readonly location: string;
}

/** An artifact that was not exported, and why (the cell's outcome is unchanged). */
export interface RefusedArtifact {
  readonly name: string;
  readonly path: string;
  /** e.g. "missing", "a symlink", "over 104857600 bytes per artifact". */
  readonly reason: string;
}

/** What the store is told about an artifact it keeps. */
export interface ArtifactPut {
  readonly cellId: string;
  readonly runId: string;
  readonly name: string;
  readonly kind: ArtifactKind;
  readonly bytes: number;
  readonly sha256: string;
  /** A host file holding exactly those bytes; the store copies or moves it, the caller removes it after. */
  readonly file: string;
}

export interface ArtifactStore {
  readonly kind: 'folder' | 's3';
  /** Keeps an artifact; answers its location. */
  put(artifact: ArtifactPut): Promise<string>;
  /** Up to `length` bytes from `offset` (fewer at the end, none past it). */
  read(location: string, offset: number, length: number): Promise<Uint8Array>;
  /** The stored size, or undefined when the store no longer has it (expired, removed). */
  size(location: string): Promise<number | undefined>;
}
