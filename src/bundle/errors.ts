/** Why a bundle cannot be made. MissingCellId and MissingArgv keep the meaning of CellOS's own. */
export type BundleConfigErrorCode =
  | 'MissingCellId'
  | 'MissingArgv'
  | 'MissingSecret'
  | 'SecretNotGranted'
  | 'MountNotAllowed'
  | 'NetworkNotAllowed'
  | 'RootfsUnavailable'
  | 'RootUserNotAllowed'
  | 'MemoryNotAllowed'
  | 'TmpfsTooLarge';

/**
 * A document this host will not run as asked (a mount outside the allowlist, a secret it does not
 * hold, a network it does not allow, a mount point missing from the rootfs): thrown while the bundle
 * is generated, before anything is created on the host.
 */
export class BundleConfigError extends Error {
  override readonly name = 'BundleConfigError';
  readonly failureType = 'CellRejectedByHost';
  readonly code: BundleConfigErrorCode;

  constructor(code: BundleConfigErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
