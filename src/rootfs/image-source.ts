// Where an image's files come from: a directory on the host or a tarball of one.
// Names are archive-relative ("index.json", "blobs/sha256/<hex>", "<id>/layer.tar").

/** Metadata files (index, manifests, configs) larger than this are refused. */
export const METADATA_LIMIT = 4 * 1024 * 1024;

export interface ImageSource {
  /** Reads a small file whole; undefined when the image has no such file. */
  read(name: string): Promise<Uint8Array | undefined>;
  /**
   * Host paths holding these files, in the same order. A directory answers with its own
   * files; a tarball copies them into `scratch` (a fresh directory it may fill).
   */
  files(names: readonly string[], scratch: string): Promise<string[]>;
}
