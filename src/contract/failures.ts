// How a cell fails instead of completing with an outcome: the failure types the workflow ends with,
// and how errors thrown on a host become them. Pure.

/** The failure types of the cell workflow, and what each means to whoever started the cell. */
export const failureTypes = {
  /** The document breaks the schema: nothing touched a host. */
  invalidDocument: 'InvalidCellDocument',
  /** The host refused the document (mount not allowed, missing secret, bad rootfs): nothing left behind. */
  rejected: 'CellRejectedByHost',
  /** No host of the cluster can ever run it (labels, memory): it would wait forever. */
  unplaceable: 'CellUnplaceable',
  /** runsc or the host failed past every retry. */
  infrastructure: 'CellInfrastructureFailure',
} as const;

export type CellFailureType = (typeof failureTypes)[keyof typeof failureTypes];

/** What a client does with each failure type: `refused` (the document cannot run) or `failed`. */
export const FAILURE_KIND: Readonly<Record<CellFailureType, 'refused' | 'failed'>> = {
  InvalidCellDocument: 'refused',
  CellRejectedByHost: 'refused',
  CellUnplaceable: 'refused',
  CellInfrastructureFailure: 'failed',
};

export function isCellFailureType(type: unknown): type is CellFailureType {
  return typeof type === 'string' && Object.hasOwn(FAILURE_KIND, type);
}

/**
 * An error that retrying cannot fix declares the failure type it ends its cell with. The activities
 * turn such an error into a non-retryable failure of that type; any other error is retried, and
 * past its retries ends the cell as CellInfrastructureFailure.
 */
export interface CellFailureSource {
  readonly failureType: CellFailureType;
}

export function failureTypeOf(err: unknown): CellFailureType | undefined {
  const type = (err as Partial<CellFailureSource> | null | undefined)?.failureType;
  return err instanceof Error && isCellFailureType(type) ? type : undefined;
}

/**
 * A run sent to a queue every host polls (an eager run) reached a host other than the one that
 * claimed the cell: refused before it touches anything; the workflow sends it to its host's queue.
 */
export const WRONG_HOST = 'WrongHost';

/** Retried launches of a sandbox whose runsc failed before the workload started. */
export const SANDBOX_LAUNCH_FAILED = 'SandboxLaunchFailed';

/** How a read of an artifact (artifactChunkWorkflow, and the readArtifact activity it runs) fails. */
export const artifactFailureTypes = {
  /** Offset or length out of range, or a location that is no artifact location. */
  invalidRequest: 'InvalidArtifactRequest',
  /** A location another host (or an S3 bucket) holds, not the host asked. */
  notOnThisHost: 'ArtifactNotOnThisHost',
  /** The host's store no longer has it: past its retention (CELLOS_ARTIFACTS_RETENTION_SECONDS), or removed. */
  notStored: 'ArtifactNotStored',
  /** The host that holds it did not take the read in time: its worker is not running. */
  hostUnavailable: 'ArtifactHostUnavailable',
  /** The host failed to read it (past the retry). */
  readFailed: 'ArtifactReadFailed',
} as const;

export type ArtifactFailureType = (typeof artifactFailureTypes)[keyof typeof artifactFailureTypes];

export function isArtifactFailureType(type: unknown): type is ArtifactFailureType {
  return typeof type === 'string' && (Object.values(artifactFailureTypes) as string[]).includes(type);
}
