/** Which part of the document (or of the worker's configuration) named the rootfs that failed. */
export type RootfsField = 'spec.run.rootfs.image' | 'spec.run.rootfs.path' | 'default rootfs';

/** Why a rootfs cannot be used. */
export type RootfsErrorReason =
  | 'NotFound'
  | 'NotADirectory'
  | 'MissingTmp'
  | 'NotAnImage'
  | 'AmbiguousImage'
  | 'DigestMismatch'
  | 'UnsafePath'
  | 'Unsupported'
  /** The path lies outside every folder the operator allows for this field (or changed while checked). */
  | 'NotAllowed'
  /** The image goes over one of the host's image limits (the message names it and its setting). */
  | 'TooLarge'
  /**
   * Preparing the image took longer than the host allows (its prepare timeout). A refusal, not
   * retried: the image is the document's choice, and a retry would spend the same time again.
   */
  | 'TimedOut'
  /** The host failed us (permissions, disk full): not the document's fault, may be retried. */
  | 'HostError';

/**
 * A rootfs that cannot be resolved: thrown by resolveRootfs while a host prepares a cell. The message
 * reads "<field>: <reason in words>". Refuses the cell, except a HostError, which is retried.
 */
export class RootfsError extends Error {
  override readonly name = 'RootfsError';
  readonly field: RootfsField;
  readonly reason: RootfsErrorReason;

  constructor(field: RootfsField, reason: RootfsErrorReason, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.field = field;
    this.reason = reason;
  }

  get failureType(): 'CellRejectedByHost' | undefined {
    return this.reason === 'HostError' ? undefined : 'CellRejectedByHost';
  }
}

/** A refusal found deep in the unpacker, before it knows the field; resolve.ts adds the field. */
export class ImageProblem extends Error {
  override readonly name = 'ImageProblem';
  readonly reason: RootfsErrorReason;

  constructor(reason: RootfsErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
