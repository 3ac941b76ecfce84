// The artifact settings the worker's configuration fills in.
import { describe, expect, it } from 'vitest';
import { ARTIFACT_DEFAULTS, normalizeArtifactSettings } from '../../src/artifacts/limits.ts';

describe('normalizeArtifactSettings', () => {
  it('fills in the defaults: 100 MiB per artifact, 256 MiB per cell, 10000 files, depth 32, 7 days, 10 GiB', () => {
    expect(normalizeArtifactSettings()).toEqual({
      maxBytesPerArtifact: 104_857_600,
      maxBytesPerCell: 268_435_456,
      maxFilesPerArtifact: 10_000,
      maxDepth: 32,
      retentionSeconds: 604_800,
      quotaBytes: 10_737_418_240,
    });
    expect(normalizeArtifactSettings({ maxDepth: 8 })).toEqual({ ...ARTIFACT_DEFAULTS, maxDepth: 8 });
  });

  it('refuses a setting that is not a positive whole number, naming it and the value', () => {
    expect(() => normalizeArtifactSettings({ quotaBytes: 0 })).toThrow(
      'artifact setting quotaBytes must be a positive whole number, got 0',
    );
    expect(() => normalizeArtifactSettings({ maxDepth: 2.5 })).toThrow(/maxDepth .* got 2\.5/);
    expect(() => normalizeArtifactSettings({ retentionSeconds: Number.NaN })).toThrow(/retentionSeconds .* got null/);
  });
});
