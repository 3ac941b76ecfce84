// Where an image's files come from: a directory on the host or a tarball of one.
// Names are archive-relative ("index.json", "blobs/sha256/<hex>", "<id>/layer.tar").

export interface ImageSource {
  /**
   * Reads a small file (metadata) whole, counting it against the image's metadata limits;
   * undefined when the image has no such file.
   */
  read(name: string): Promise<Uint8Array | undefined>;
  /**
   * Realpaths of host files holding these members, in the same order; readers open them with
   * withFile, which checks them again. A directory answers with its own files (checked to lie
   * inside it); a tarball copies them into `scratch` (a fresh directory it may fill).
   */
  files(names: readonly string[], scratch: string): Promise<string[]>;
  /** Releases what the source holds open. */
  close(): Promise<void>;
}
