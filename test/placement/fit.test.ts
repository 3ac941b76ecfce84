// Whether any known host can ever run a cell: labels no host has, or more memory than any host with
// those labels gives one cell, fail at once; with no host known yet, the cell waits.
import { describe, expect, it } from 'vitest';
import type { HostAd } from '../../src/placement/host-ad.ts';
import { unplaceableReason, type CellNeeds } from '../../src/placement/fit.ts';

const GiB = 1024 ** 3;

function host(hostId: string, more: Partial<HostAd> = {}): HostAd {
  return { hostId, labels: {}, maxCells: 4, memoryBudgetBytes: 8 * GiB, maxCellMemoryBytes: 4 * GiB, ...more };
}

const anyCell: CellNeeds = { labels: {}, memoryBytes: undefined };

describe('unplaceableReason', () => {
  it('lets a cell wait while no host is known, whatever it asks for', () => {
    expect(unplaceableReason(anyCell, [])).toBeUndefined();
    expect(unplaceableReason({ labels: { gpu: 'a100' }, memoryBytes: 1024 * GiB }, [])).toBeUndefined();
  });

  it('places a cell that asks for nothing on any host', () => {
    expect(unplaceableReason(anyCell, [host('h1')])).toBeUndefined();
  });

  it('places a cell whose labels one host has', () => {
    const hosts = [host('h1', { labels: { zone: 'a' } }), host('h2', { labels: { zone: 'b', gpu: 'none' } })];
    expect(unplaceableReason({ labels: { zone: 'b' }, memoryBytes: undefined }, hosts)).toBeUndefined();
    expect(unplaceableReason({ labels: { zone: 'b', gpu: 'none' }, memoryBytes: undefined }, hosts)).toBeUndefined();
  });

  it('refuses labels no host has, naming spec.placement.labels, the labels and the hosts seen', () => {
    const hosts = [host('h1', { labels: { zone: 'a', gpu: 'none' } }), host('h2')];
    expect(unplaceableReason({ labels: { zone: 'a', gpu: 'a100' }, memoryBytes: undefined }, hosts)).toBe(
      'spec.placement.labels {gpu=a100,zone=a}: no host has these labels (hosts: h1 {gpu=none,zone=a}, h2)',
    );
  });

  it('refuses labels when no single host has all of them, though each host has some', () => {
    const hosts = [host('h1', { labels: { zone: 'a' } }), host('h2', { labels: { gpu: 'none' } })];
    const reason = unplaceableReason({ labels: { zone: 'a', gpu: 'none' }, memoryBytes: undefined }, hosts);
    expect(reason).toMatch(/^spec\.placement\.labels \{gpu=none,zone=a\}: no host has these labels/);
    expect(reason).toContain('h1 {zone=a}');
    expect(reason).toContain('h2 {gpu=none}');
  });

  it('places a cell whose memory fits one host exactly', () => {
    const hosts = [host('h1', { memoryBudgetBytes: 8 * GiB, maxCellMemoryBytes: 4 * GiB })];
    expect(unplaceableReason({ labels: {}, memoryBytes: 4 * GiB }, hosts)).toBeUndefined();
  });

  it('refuses memory beyond what a host lets one cell have, naming spec.run.limits.memoryMaxBytes', () => {
    const hosts = [host('h1', { memoryBudgetBytes: 8 * GiB, maxCellMemoryBytes: 4 * GiB })];
    expect(unplaceableReason({ labels: {}, memoryBytes: 4 * GiB + 1 }, hosts)).toBe(
      `spec.run.limits.memoryMaxBytes ${4 * GiB + 1}: more than any host with the cell's labels gives one cell (at most ${4 * GiB})`,
    );
  });

  it('refuses memory beyond a host whole budget, though its per-cell maximum is larger', () => {
    const hosts = [host('h1', { memoryBudgetBytes: 2 * GiB, maxCellMemoryBytes: 16 * GiB })];
    const reason = unplaceableReason({ labels: {}, memoryBytes: 3 * GiB }, hosts);
    expect(reason).toMatch(/^spec\.run\.limits\.memoryMaxBytes /);
    expect(reason).toContain(`(at most ${2 * GiB})`);
    expect(unplaceableReason({ labels: {}, memoryBytes: 2 * GiB }, hosts)).toBeUndefined();
  });

  it('places a cell that fits on any one host, and names the largest room when none fits', () => {
    const hosts = [
      host('small', { memoryBudgetBytes: 2 * GiB, maxCellMemoryBytes: 2 * GiB }),
      host('big', { memoryBudgetBytes: 64 * GiB, maxCellMemoryBytes: 6 * GiB }),
      host('budget', { memoryBudgetBytes: 5 * GiB, maxCellMemoryBytes: 32 * GiB }),
    ];
    expect(unplaceableReason({ labels: {}, memoryBytes: 6 * GiB }, hosts)).toBeUndefined();
    expect(unplaceableReason({ labels: {}, memoryBytes: 7 * GiB }, hosts)).toContain(`(at most ${6 * GiB})`);
  });

  it('counts only the memory of hosts with the labels the cell asks for', () => {
    const hosts = [
      host('gpu', { labels: { gpu: 'a100' }, memoryBudgetBytes: 4 * GiB, maxCellMemoryBytes: 2 * GiB }),
      host('big', { memoryBudgetBytes: 64 * GiB, maxCellMemoryBytes: 32 * GiB }),
    ];
    const reason = unplaceableReason({ labels: { gpu: 'a100' }, memoryBytes: 8 * GiB }, hosts);
    expect(reason).toMatch(/^spec\.run\.limits\.memoryMaxBytes /);
    expect(reason).toContain(`(at most ${2 * GiB})`);
    expect(unplaceableReason({ labels: {}, memoryBytes: 8 * GiB }, hosts)).toBeUndefined();
  });

  it('names labels before memory when both are out of reach', () => {
    const reason = unplaceableReason({ labels: { zone: 'z' }, memoryBytes: 1024 * GiB }, [host('h1')]);
    expect(reason).toMatch(/^spec\.placement\.labels \{zone=z\}/);
  });

  it('leaves a cell without a memory limit of its own to each host default', () => {
    const hosts = [host('tiny', { memoryBudgetBytes: 1, maxCellMemoryBytes: 1 })];
    expect(unplaceableReason(anyCell, hosts)).toBeUndefined();
  });
});
