// Failure types that cross the Temporal boundary. Pure.
export const failureTypes = {
  /** The document breaks the schema: nothing touched a host. */
  invalidDocument: 'InvalidCellDocument',
  /** The host refused the document (mount not allowed, missing secret, bad rootfs): nothing left behind. */
  rejected: 'CellRejectedByHost',
  /** runsc or the host failed past every retry. */
  infrastructure: 'CellInfrastructureFailure',
  /** Error types an activity throws that retrying cannot fix. */
  nonRetryable: [
    'CellDocumentError',
    'BundleConfigError',
    'RootfsError',
    'HostConfigError',
    'UnsupportedPlatformError',
  ],
} as const;
