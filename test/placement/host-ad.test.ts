// What a host advertises in its workers' identity: written by formatHostIdentity, read back by
// parseHostIdentity, and nothing read from any other worker's identity.
import { describe, expect, it } from 'vitest';
import { formatHostIdentity, parseHostIdentity, type HostAd } from '../../src/placement/host-ad.ts';

const GiB = 1024 ** 3;
const ad: HostAd = {
  hostId: 'host-1',
  labels: { zone: 'a', gpu: 'none' },
  maxCells: 4,
  memoryBudgetBytes: 8 * GiB,
  maxCellMemoryBytes: 2 * GiB,
};

describe('formatHostIdentity', () => {
  it('spells the host id, its labels sorted, its size and the process', () => {
    expect(formatHostIdentity(ad, '1234@machine')).toBe(
      `cellos-host host-1 labels=gpu=none,zone=a cells=4 memory=${8 * GiB} cell-memory=${2 * GiB} 1234@machine`,
    );
  });

  it('spells a host without labels with an empty labels field', () => {
    expect(formatHostIdentity({ ...ad, labels: {} }, '1@m')).toBe(
      `cellos-host host-1 labels= cells=4 memory=${8 * GiB} cell-memory=${2 * GiB} 1@m`,
    );
  });
});

describe('parseHostIdentity', () => {
  it.each<[string, HostAd]>([
    ['labels', ad],
    ['no labels', { ...ad, labels: {} }],
    ['an empty label value', { ...ad, labels: { tier: '' } }],
    ['the most labels', { ...ad, labels: { a: '1', b: '2', c: '3', d: '4' } }],
    ['zero sizes', { ...ad, maxCells: 0, memoryBudgetBytes: 0, maxCellMemoryBytes: 0 }],
    ['the largest safe sizes', { ...ad, memoryBudgetBytes: Number.MAX_SAFE_INTEGER }],
    ['a dotted host id', { ...ad, hostId: 'rack1.host_2-b' }],
  ])('reads back what formatHostIdentity wrote, with %s', (_, host) => {
    expect(parseHostIdentity(formatHostIdentity(host, '1234@machine'))).toEqual(host);
  });

  it('reads back the ad whatever the process name is', () => {
    expect(parseHostIdentity(formatHostIdentity(ad, 'worker on build box'))).toEqual(ad);
    expect(parseHostIdentity(formatHostIdentity(ad, ''))).toEqual(ad);
  });

  it('gives labels that are plain data, not the text', () => {
    const parsed = parseHostIdentity(formatHostIdentity(ad, '1@m'));
    expect(parsed?.labels).toStrictEqual({ gpu: 'none', zone: 'a' });
  });

  it.each([
    ['another worker', '1234@machine'],
    ['another worker naming a size', '1234@machine cells=4 memory=8 cell-memory=2 x y'],
    ['an empty identity', ''],
    ['only the prefix', 'cellos-host'],
    ['a prefix that only starts the same', `cellos-hosts host-1 labels= cells=4 memory=8 cell-memory=2 1@m`],
    ['a prefix in another case', `CELLOS-HOST host-1 labels= cells=4 memory=8 cell-memory=2 1@m`],
    ['no host id (two spaces)', `cellos-host  labels= cells=4 memory=8 cell-memory=2 1@m`],
    ['a missing cells field', `cellos-host h labels= memory=8 cell-memory=2 1@m x`],
    ['a missing memory field', `cellos-host h labels= cells=4 cell-memory=2 1@m x`],
    ['a missing cell-memory field', `cellos-host h labels= cells=4 memory=8 1@m x`],
    ['too few words', `cellos-host h cells=4 memory=8`],
    ['a word cells', `cellos-host h labels= cells=four memory=8 cell-memory=2 1@m`],
    ['negative cells', `cellos-host h labels= cells=-1 memory=8 cell-memory=2 1@m`],
    ['fractional cells', `cellos-host h labels= cells=1.5 memory=8 cell-memory=2 1@m`],
    ['an unsafe memory', `cellos-host h labels= cells=4 memory=9007199254740993 cell-memory=2 1@m`],
    ['an infinite memory', `cellos-host h labels= cells=4 memory=Infinity cell-memory=2 1@m`],
    ['an empty cells field', `cellos-host h labels= cells= memory=8 cell-memory=2 1@m`],
    ['an empty memory field', `cellos-host h labels= cells=4 memory= cell-memory=2 1@m`],
    ['an empty cell-memory field', `cellos-host h labels= cells=4 memory=8 cell-memory= 1@m`],
    ['a hexadecimal cells field', `cellos-host h labels= cells=0x10 memory=8 cell-memory=2 1@m`],
    ['an exponent in memory', `cellos-host h labels= cells=4 memory=8e9 cell-memory=2 1@m`],
    ['a bad label name', `cellos-host h labels=Zone=a cells=4 memory=8 cell-memory=2 1@m`],
    ['a label without a value', `cellos-host h labels=zone cells=4 memory=8 cell-memory=2 1@m`],
    ['a label given twice', `cellos-host h labels=zone=a,zone=b cells=4 memory=8 cell-memory=2 1@m`],
  ])('reads nothing from %s', (_, identity) => {
    expect(parseHostIdentity(identity)).toBeUndefined();
  });
});
