// Host labels and what a cell asks of them: one spelling per set, strict syntax, and the launch
// queues (one per subset of a host's labels) that let a cell asking for any of them find the host.
import { describe, expect, it } from 'vitest';
import {
  formatLabels,
  LabelSyntaxError,
  labelProblem,
  labelSubsets,
  MAX_HOST_LABELS,
  parseLabels,
  satisfies,
  type Labels,
} from '../../src/placement/labels.ts';

describe('parseLabels', () => {
  it('reads name=value pairs separated by commas', () => {
    expect(parseLabels('zone=a,gpu=none')).toEqual({ zone: 'a', gpu: 'none' });
  });

  it('reads nothing from an empty or blank text', () => {
    expect(parseLabels('')).toEqual({});
    expect(parseLabels('  ')).toEqual({});
    expect(parseLabels(',,')).toEqual({});
  });

  it('ignores spaces around pairs and empty pairs', () => {
    expect(parseLabels(' zone=a , ,gpu=none, ')).toEqual({ zone: 'a', gpu: 'none' });
  });

  it('takes an empty value', () => {
    expect(parseLabels('gpu=')).toEqual({ gpu: '' });
  });

  it('takes names at the longest (32) and values at the longest (63)', () => {
    const name = `a${'b'.repeat(30)}c`;
    const value = `A${'x'.repeat(61)}Z`;
    expect(parseLabels(`${name}=${value}`)).toEqual({ [name]: value });
  });

  it('takes the characters . _ - inside names and values', () => {
    expect(parseLabels('cpu.arch_x-y=Intel.Xeon_v4-2')).toEqual({ 'cpu.arch_x-y': 'Intel.Xeon_v4-2' });
  });

  it('refuses a pair without =, naming it', () => {
    expect(() => parseLabels('zone=a,gpu')).toThrow(new LabelSyntaxError('label "gpu" must be name=value'));
  });

  it.each([
    ['=a', ''],
    ['Zone=a', 'Zone'],
    ['-zone=a', '-zone'],
    ['zone-=a', 'zone-'],
    ['.zone=a', '.zone'],
    ['_zone=a', '_zone'],
    ['__proto__=a', '__proto__'],
    ['zo ne=a', 'zo ne'],
    ['zöne=a', 'zöne'],
    [`${'a'.repeat(33)}=a`, 'a'.repeat(33)],
  ])('refuses the bad name in %j, naming it', (text, name) => {
    expect(() => parseLabels(text)).toThrow(LabelSyntaxError);
    expect(() => parseLabels(text)).toThrow(`label name ${JSON.stringify(name)} must be 1-32 characters`);
  });

  it.each([
    ['zone=a b', 'a b'],
    ['zone=a=b', 'a=b'],
    ['zone=-a', '-a'],
    ['zone=a.', 'a.'],
    ['zone=ä', 'ä'],
    [`zone=${'v'.repeat(64)}`, 'v'.repeat(64)],
  ])('refuses the bad value in %j, naming the label and the value', (text, value) => {
    expect(() => parseLabels(text)).toThrow(LabelSyntaxError);
    expect(() => parseLabels(text)).toThrow(
      `label zone's value ${JSON.stringify(value)} must be at most 63 characters`,
    );
  });

  it('refuses a label given twice, even with the same value', () => {
    expect(() => parseLabels('zone=a,gpu=none,zone=b')).toThrow(new LabelSyntaxError('label zone is given twice'));
    expect(() => parseLabels('zone=a,zone=a')).toThrow('label zone is given twice');
  });

  it('takes names that Object.prototype has, once, as ordinary labels', () => {
    const labels = parseLabels('constructor=x,hasownproperty=y');
    expect(labels).toEqual({ constructor: 'x', hasownproperty: 'y' });
    expect(Object.hasOwn(labels, 'constructor')).toBe(true);
    expect(() => parseLabels('constructor=x,constructor=y')).toThrow('label constructor is given twice');
  });

  it('throws an error whose name is LabelSyntaxError', () => {
    try {
      parseLabels('x');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LabelSyntaxError);
      expect((err as Error).name).toBe('LabelSyntaxError');
    }
  });
});

describe('labelProblem', () => {
  it('finds nothing wrong with a good label', () => {
    expect(labelProblem('zone', 'a')).toBeUndefined();
    expect(labelProblem('0', '')).toBeUndefined();
    expect(labelProblem('a', 'Z')).toBeUndefined();
  });

  it('names a bad name before looking at the value', () => {
    expect(labelProblem('Bad', 'also bad')).toMatch(/^label name "Bad" must be/);
  });

  it('names the label whose value is bad', () => {
    expect(labelProblem('zone', 'a,b')).toBe(
      `label zone's value "a,b" must be at most 63 characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit`,
    );
  });
});

describe('satisfies', () => {
  const host: Labels = { zone: 'a', gpu: 'none', tier: '' };

  it('lets a cell that asks for nothing run anywhere', () => {
    expect(satisfies(host, {})).toBe(true);
    expect(satisfies({}, {})).toBe(true);
  });

  it('lets a cell asking for some of the host labels, with the same values, run', () => {
    expect(satisfies(host, { zone: 'a' })).toBe(true);
    expect(satisfies(host, { zone: 'a', gpu: 'none', tier: '' })).toBe(true);
  });

  it('refuses a cell asking for another value', () => {
    expect(satisfies(host, { zone: 'b' })).toBe(false);
    expect(satisfies(host, { zone: 'a', gpu: 'yes' })).toBe(false);
  });

  it('refuses a cell asking for a label the host lacks, even with an empty value', () => {
    expect(satisfies(host, { disk: 'ssd' })).toBe(false);
    expect(satisfies({ zone: 'a' }, { tier: '' })).toBe(false);
    expect(satisfies(host, { tier: '' })).toBe(true);
  });

  it('counts only the labels the host has of its own, not inherited ones', () => {
    const host = Object.create({ zone: 'a' }) as Labels;
    expect(satisfies(host, { zone: 'a' })).toBe(false);
  });

  it('does not care about the order of labels', () => {
    expect(satisfies({ b: '2', a: '1' }, { a: '1', b: '2' })).toBe(true);
  });
});

describe('formatLabels', () => {
  it('spells labels sorted by name, as name=value joined by commas', () => {
    expect(formatLabels({ zone: 'a', gpu: 'none', arch: 'x86' })).toBe('arch=x86,gpu=none,zone=a');
  });

  it('spells one set of labels one way whatever the insertion order', () => {
    expect(formatLabels({ b: '2', a: '1' })).toBe(formatLabels({ a: '1', b: '2' }));
  });

  it('spells no labels as an empty text and an empty value as name=', () => {
    expect(formatLabels({})).toBe('');
    expect(formatLabels({ gpu: '' })).toBe('gpu=');
  });

  it.each<Labels>([{}, { zone: 'a' }, { zone: 'a', gpu: '', 'cpu.arch': 'X86_64' }])(
    'is read back by parseLabels: %j',
    (labels) => {
      expect(parseLabels(formatLabels(labels))).toEqual(labels);
    },
  );
});

describe('labelSubsets', () => {
  it('gives a host without labels the one empty subset', () => {
    expect(labelSubsets({})).toEqual([{}]);
  });

  it('gives every subset of two labels, the empty one first', () => {
    const subsets = labelSubsets({ zone: 'a', gpu: 'none' });
    expect(subsets[0]).toEqual({});
    expect(subsets).toHaveLength(4);
    expect(subsets).toEqual(expect.arrayContaining([{}, { gpu: 'none' }, { zone: 'a' }, { gpu: 'none', zone: 'a' }]));
  });

  it(`gives 2^${MAX_HOST_LABELS} distinct subsets for the most labels a host advertises`, () => {
    const labels = Object.fromEntries(Array.from({ length: MAX_HOST_LABELS }, (_, i) => [`l${i}`, `v${i}`]));
    const subsets = labelSubsets(labels);
    expect(subsets).toHaveLength(2 ** MAX_HOST_LABELS);
    expect(new Set(subsets.map(formatLabels)).size).toBe(2 ** MAX_HOST_LABELS);
  });

  it('gives only subsets the host satisfies, with the host values', () => {
    const host = { zone: 'a', gpu: 'none', tier: '' };
    for (const subset of labelSubsets(host)) expect(satisfies(host, subset)).toBe(true);
  });

  it('has a queue for every cell the host can run: each satisfiable ask spells one of the subsets', () => {
    const host = { zone: 'a', gpu: 'none', disk: 'ssd' };
    const queues = new Set(labelSubsets(host).map(formatLabels));
    // Every ask the host satisfies, written in another insertion order.
    const names = Object.keys(host).reverse();
    for (let mask = 0; mask < 1 << names.length; mask++) {
      const wanted = Object.fromEntries(
        names.filter((_, i) => mask & (1 << i)).map((n) => [n, host[n as keyof typeof host]]),
      );
      expect(queues.has(formatLabels(wanted))).toBe(true);
    }
  });

  it('does not change the labels it is given', () => {
    const host = { zone: 'a', gpu: 'none' };
    labelSubsets(host);
    expect(host).toEqual({ zone: 'a', gpu: 'none' });
  });
});
