/** Why a bundle cannot be made. MissingCellId and MissingArgv keep the meaning of CellOS's own. */
export type BundleConfigErrorCode =
  'MissingCellId' | 'MissingArgv' | 'MissingSecret' | 'MountNotAllowed' | 'NetworkNotAllowed' | 'RootfsUnavailable';

export class BundleConfigError extends Error {
  override readonly name = 'BundleConfigError';
  readonly code: BundleConfigErrorCode;

  constructor(code: BundleConfigErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
