// How much of a cell's scratch mount the host exports, and how long and how much its folder store
// keeps. Everything an artifact holds is the workload's choice, so each kind of work has a cap.
// Pure: no node:*, so the worker's configuration can import it.

/** What collecting one cell's artifacts may cost (collect.ts). */
export interface ArtifactLimits {
  /** Bytes stored for one artifact: the file's, or its tar's for a directory. */
  readonly maxBytesPerArtifact: number;
  /** Bytes stored for all the artifacts of one cell together. */
  readonly maxBytesPerCell: number;
  /** Entries of a directory artifact, files and directories alike. */
  readonly maxFilesPerArtifact: number;
  /** Levels below a directory artifact (its own entries are at level 1). */
  readonly maxDepth: number;
}

/** What the host's folder store keeps (folder-store.ts). */
export interface ArtifactRetention {
  /** How long an artifact is kept after it was stored. */
  readonly retentionSeconds: number;
  /** Bytes the store's blobs may hold together; a put past it is refused. */
  readonly quotaBytes: number;
}

export type ArtifactSettings = ArtifactLimits & ArtifactRetention;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const ARTIFACT_DEFAULTS: ArtifactSettings = {
  maxBytesPerArtifact: 100 * MiB,
  maxBytesPerCell: 256 * MiB,
  maxFilesPerArtifact: 10_000,
  maxDepth: 32,
  retentionSeconds: 7 * 24 * 60 * 60,
  quotaBytes: 10 * GiB,
};

/** The settings with defaults filled in; one that is not a positive whole number is a TypeError naming it. */
export function normalizeArtifactSettings(input: Partial<ArtifactSettings> = {}): ArtifactSettings {
  const settings = { ...ARTIFACT_DEFAULTS };
  for (const key of Object.keys(ARTIFACT_DEFAULTS) as (keyof ArtifactSettings)[]) {
    const value = input[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`artifact setting ${key} must be a positive whole number, got ${JSON.stringify(value)}`);
    }
    settings[key] = value;
  }
  return settings;
}
