// What the figures were measured on.
import { execFile } from 'node:child_process';
import { availableParallelism, hostname, loadavg, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { memorySettingsInEffect, type MemorySettingsInEffect } from '../src/worker/memory-settings.ts';
import { cpuModel } from './proc.ts';

export interface Machine {
  readonly hostname: string;
  readonly cpus: number;
  readonly cpuModel: string | undefined;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly runsc: string;
  /** The runsc platform the hosts use (ptrace, systrap, kvm). */
  readonly runscPlatform: string;
  readonly node: string;
  /** Which of a worker's memory settings (src/worker/memory-settings.ts) the bench process has. */
  readonly memorySettings: MemorySettingsInEffect;
  /** 1, 5 and 15 minute load averages before the bench started anything: other work skews it. */
  readonly loadAverageAtStart: readonly number[];
}

/** The load averages now, rounded (call it before starting anything). */
export function loadAverages(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

export async function describeMachine(
  runscPath: string,
  runscPlatform: string,
  loadAverageAtStart: readonly number[],
): Promise<Machine> {
  const runsc = await promisify(execFile)(runscPath, ['--version']).then(
    (r) => r.stdout.split('\n')[0]?.replace(/^runsc version\s*/, '') ?? 'unknown',
    (err: Error) => `unknown (${err.message.split('\n')[0]})`,
  );
  return {
    hostname: hostname(),
    cpus: availableParallelism(),
    cpuModel: cpuModel(),
    memoryBytes: totalmem(),
    kernel: release(),
    runsc,
    runscPlatform,
    node: process.version,
    memorySettings: memorySettingsInEffect(process.env, process.execArgv),
    loadAverageAtStart,
  };
}
