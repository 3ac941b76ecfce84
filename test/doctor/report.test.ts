// How `cellos doctor` prints its checks and which exit code it ends with; and its list when the
// configuration is invalid.
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/doctor.ts';
import { doctorExitCode, formatChecks } from '../../src/doctor/report.ts';
import { fail, ok, skip, warn } from '../../src/doctor/result.ts';

describe('the report', () => {
  it('prints one line per check, a fix under each problem, and a summary', () => {
    const text = formatChecks([
      ok('runsc', 'runsc version 1'),
      fail('state dir', '/s is writable by everyone (mode 0777)', 'chmod go-w /s'),
      warn('host queue', 'no worker polls q@h', 'start `cellos worker`'),
      skip('platform', 'not checked'),
    ]);
    expect(text).toBe(
      [
        'ok    runsc       runsc version 1',
        'FAIL  state dir   /s is writable by everyone (mode 0777)',
        '                  fix: chmod go-w /s',
        'warn  host queue  no worker polls q@h',
        '                  fix: start `cellos worker`',
        'skip  platform    not checked',
        '',
        'cellos doctor: 1 failed, 1 warning, 1 not checked of 4 checks: this host cannot run cells as configured',
      ].join('\n'),
    );
  });

  it('says so when every check is ok', () => {
    expect(
      formatChecks([ok('a', 'x'), ok('b', 'y')])
        .split('\n')
        .at(-1),
    ).toBe('cellos doctor: all 2 checks ok');
  });

  it('exits 1 when a check failed, and 0 with warnings only', () => {
    expect(doctorExitCode([ok('a', 'x'), warn('b', 'y', 'z'), skip('c', 'w')])).toBe(0);
    expect(doctorExitCode([ok('a', 'x'), fail('b', 'y', 'z')])).toBe(1);
  });
});

describe('runDoctor', () => {
  it('leads with the configuration, and skips what an invalid one leaves unknown', async () => {
    const results = await runDoctor({
      config: fail('config', 'CELLOS_PLATFORM="qemu" must be systrap, ptrace or kvm', 'fix the setting it names'),
      host: undefined,
      temporal: undefined,
      probeName: 'p',
      now: () => new Date(),
    });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['config', 'fail'],
      ['host', 'skip'],
      ['temporal', 'skip'],
    ]);
    expect(doctorExitCode(results)).toBe(1);
  });
});
