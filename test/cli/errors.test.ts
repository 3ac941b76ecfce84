// toCliExit: every error a command may throw, to its exit code and the one message the user sees.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { BundleConfigError } from '../../src/bundle/errors.ts';
import { toCliExit } from '../../src/cli/errors.ts';
import { CliExit, EXIT } from '../../src/cli/exit.ts';
import { SearchAttributesMissingError } from '../../src/client/cell-query.ts';
import {
  ArtifactReadError,
  CellAlreadyRunningError,
  CellArtifactsUnavailableError,
  CellFailedError,
} from '../../src/client/errors.ts';
import { ScheduleOptionsError } from '../../src/client/schedule-options.ts';
import { ConfigError } from '../../src/config-error.ts';
import { artifactFailureTypes, failureTypes, SANDBOX_LAUNCH_FAILED } from '../../src/contract/index.ts';
import { CellDocumentError } from '../../src/document/errors.ts';
import { HostConfigError } from '../../src/host/config.ts';
import { RootfsError } from '../../src/rootfs/errors.ts';
import { UnsupportedPlatformError } from '../../src/runsc/errors.ts';
import { TemporalCliNotFoundError } from '../../src/temporal/cli.ts';

describe('toCliExit', () => {
  it('lists every problem of an invalid document and exits 3', () => {
    const exit = toCliExit(
      new CellDocumentError([
        { path: 'kind', message: 'must be "ExecutionCell"' },
        { path: 'spec.id', message: 'is required' },
      ]),
    );
    expect(exit.exitCode).toBe(EXIT.validation);
    expect(exit.message).toBe('invalid cell document:');
    expect(exit.details).toEqual(['kind: must be "ExecutionCell"', 'spec.id: is required']);
  });

  it('exits 3 when the host refuses the document', () => {
    const bundle = toCliExit(new BundleConfigError('MissingSecret', 'spec.authority.secretRefs[0]: no value for X'));
    expect(bundle).toMatchObject({ exitCode: EXIT.validation, message: expect.stringMatching(/^the host refuses/) });
    const rootfs = toCliExit(new RootfsError('spec.run.rootfs.path', 'NotFound', 'no such folder'));
    expect(rootfs.exitCode).toBe(EXIT.validation);
  });

  it('exits 2 when the host failed to prepare a rootfs of its own making (not a refusal)', () => {
    const exit = toCliExit(new RootfsError('default rootfs', 'HostError', 'disk full'));
    expect(exit.exitCode).toBe(EXIT.failure);
    expect(exit.message).toContain('disk full');
  });

  it('exits 1 naming the setting for any configuration error, the host’s included', () => {
    expect(toCliExit(new ConfigError('CELLOS_PLATFORM="qemu" must be ...'))).toMatchObject({
      exitCode: EXIT.usage,
      message: 'configuration: CELLOS_PLATFORM="qemu" must be ...',
    });
    expect(toCliExit(new HostConfigError('stateDir must be absolute')).exitCode).toBe(EXIT.usage);
    expect(toCliExit(new ScheduleOptionsError('every', 'every "soon" must be a duration')).exitCode).toBe(EXIT.usage);
  });

  it('exits 2 with the message as it is when an artifact cannot be had (running cell, expired, host down)', () => {
    const running = new CellArtifactsUnavailableError('c', 'cell c (workflow cell-c) is still running: ...');
    expect(toCliExit(running)).toMatchObject({ exitCode: EXIT.failure, message: running.message });
    const expired = new ArtifactReadError('folder:h:x', artifactFailureTypes.notStored, 'artifact folder:h:x expired');
    expect(toCliExit(expired)).toMatchObject({ exitCode: EXIT.failure, message: 'artifact folder:h:x expired' });
  });

  it('exits 3 for a cell the workflow refused and 2 for one whose infrastructure failed', () => {
    const refused = toCliExit(new CellFailedError('c', failureTypes.rejected, 'mount not allowed'));
    expect(refused).toMatchObject({
      exitCode: EXIT.validation,
      message: expect.stringContaining('CellRejectedByHost'),
    });
    expect(toCliExit(new CellFailedError('c', failureTypes.invalidDocument, 'bad')).exitCode).toBe(EXIT.validation);
    expect(toCliExit(new CellFailedError('c', failureTypes.infrastructure, 'runsc failed')).exitCode).toBe(
      EXIT.failure,
    );
    expect(toCliExit(new CellFailedError('c', SANDBOX_LAUNCH_FAILED, 'launch failed')).exitCode).toBe(EXIT.failure);
    expect(toCliExit(new CellFailedError('c', undefined, 'terminated')).message).toBe(
      'the cell workflow failed: terminated',
    );
  });

  it('exits 2 with the message alone for the errors that explain themselves', () => {
    for (const err of [
      new CellAlreadyRunningError('c'),
      new SearchAttributesMissingError('default', '--outcome'),
      new TemporalCliNotFoundError('no Temporal CLI found'),
      new UnsupportedPlatformError('darwin'),
    ]) {
      expect(toCliExit(err)).toMatchObject({ exitCode: EXIT.failure, message: err.message });
    }
  });

  it("recognises the Temporal SDK's errors by their names", () => {
    expect(toCliExit(new ScheduleNotFoundError('not found', 's1')).message).toBe(
      'no schedule s1 in this namespace (`cellos schedule list` lists them)',
    );
    expect(toCliExit(new ScheduleAlreadyRunning('exists', 's1')).message).toMatch(/^schedule s1 already exists/);
    const service = toCliExit(new ServiceError('Failed to connect', { cause: new Error('14 UNAVAILABLE: no\nmore') }));
    expect(service).toMatchObject({
      exitCode: EXIT.failure,
      message: 'Temporal: Failed to connect: 14 UNAVAILABLE: no',
    });
  });

  it('passes a CliExit through and names any other error', () => {
    const own = new CliExit(EXIT.killed, 'interrupted');
    expect(toCliExit(own)).toBe(own);
    expect(toCliExit(new TypeError('x is not a function'))).toMatchObject({
      exitCode: EXIT.failure,
      message: 'TypeError: x is not a function',
    });
    expect(toCliExit('a string')).toMatchObject({ exitCode: EXIT.failure, message: 'unexpected error: a string' });
  });
});
