// Secret values out of output tails: the value, its base64 forms, lines wrapped, pieces cut at the ends.
import { describe, expect, test } from 'vitest';
import { cellRedactor, secretRedactor } from '../../src/host/redact.ts';

// Its base64 has both + and / (standard and URL-safe differ), and its length is not a multiple of 3.
const VALUE = 'k>?~s3cr3t-Välue+/=';
const TOKEN = { name: 'TOKEN', value: VALUE };
const redact = secretRedactor([TOKEN]);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const url = (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_');

describe('secretRedactor', () => {
  test('replaces the value wherever it appears', () => {
    expect(redact(`a ${VALUE} b\n${VALUE}${VALUE}`)).toBe('a [redacted:TOKEN] b\n[redacted:TOKEN][redacted:TOKEN]');
  });

  test('replaces its base64, standard and URL-safe, padded or not', () => {
    const std = b64(VALUE);
    expect(std).toMatch(/[+/]/);
    expect(std).toMatch(/=$/);
    for (const form of [std, url(std), url(std).replace(/=+$/, '')]) {
      const out = redact(`x ${form} y`);
      expect(out).toContain('[redacted:TOKEN]');
      expect(out).not.toContain(form.replace(/=+$/, '').slice(0, 8));
    }
  });

  test('replaces its base64 inside a longer encoded stream, at each of the 3 byte offsets', () => {
    for (const before of ['', 'a', 'ab', 'abc', 'abcd']) {
      for (const after of ['', 'z', 'zz']) {
        const stream = b64(`${before}${VALUE}${after}`);
        const out = redact(stream);
        expect(out).toContain('[redacted:TOKEN]');
        // What is left is at most the few characters that mix the value's bits with its neighbours'.
        expect(out.replace('[redacted:TOKEN]', '').length).toBeLessThanOrEqual(
          Math.ceil(((before.length + after.length) * 4) / 3) + 6,
        );
        expect(redact(url(stream))).toContain('[redacted:TOKEN]');
      }
    }
  });

  test('replaces base64 wrapped over lines as base64(1) writes it', () => {
    const long = { name: 'LONG', value: 'L'.repeat(30) + VALUE + 'M'.repeat(40) };
    const wrapped = b64(long.value).replace(/.{76}/g, '$&\n');
    expect(wrapped).toContain('\n');
    expect(secretRedactor([long])(wrapped).trim()).toBe('[redacted:LONG]');
  });

  test('replaces a piece of the value or of its base64 cut at the start or the end of a tail', () => {
    expect(redact(`${VALUE.slice(5)} and more`)).toBe('[redacted:TOKEN] and more');
    expect(redact(`text then ${VALUE.slice(0, 6)}`)).toBe('text then [redacted:TOKEN]');
    const std = b64(VALUE);
    expect(redact(`${std.slice(10)}\nnext`)).toBe('[redacted:TOKEN]\nnext');
    // A character split at the cut (U+FFFD) before the piece.
    expect(redact(`\uFFFD${VALUE.slice(4)}!`)).toBe('\uFFFD[redacted:TOKEN]!');
  });

  test('leaves a piece of fewer than 4 characters at a cut (the documented limit)', () => {
    expect(redact(`${VALUE.slice(-3)} rest`)).toBe(`${VALUE.slice(-3)} rest`);
  });

  test('redacts the longer of two secrets that contain one another as itself', () => {
    const r = secretRedactor([
      { name: 'SHORT', value: 'abcdef' },
      { name: 'LONG', value: 'xxabcdefyy' },
    ]);
    expect(r('1 xxabcdefyy 2 abcdef 3')).toBe('1 [redacted:LONG] 2 [redacted:SHORT] 3');
  });

  test('treats regular expression characters in a value as themselves', () => {
    const r = secretRedactor([{ name: 'RE', value: 'a.b*c(d)' }]);
    expect(r('a.b*c(d) axbbbc(d)')).toBe('[redacted:RE] axbbbc(d)');
  });

  test('redacts a key of several lines, and its base64 wrapped at 76 columns, without stalling', () => {
    const pem = `-----BEGIN KEY-----\n${Buffer.alloc(1600, 7).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END KEY-----`;
    const started = performance.now();
    const r = secretRedactor([{ name: 'PEM', value: pem }]);
    const text = `a\n${pem}\nb\n${b64(pem).replace(/.{76}/g, '$&\n')}\nc\n`;
    expect(r(text)).toBe('a\n[redacted:PEM]\nb\n[redacted:PEM]\nc\n');
    // Built and run in well under the heartbeat period (a regular expression of it took 1.4 s).
    expect(performance.now() - started).toBeLessThan(200);
  });

  test('makes one marker of forms that overlap', () => {
    const r = secretRedactor([
      { name: 'A', value: 'abcdefgh' },
      { name: 'B', value: 'efghijkl' },
    ]);
    expect(r('x abcdefghijkl y')).toBe('x [redacted:A] y');
  });

  test('leaves text without secrets, and everything when there are none', () => {
    expect(redact('nothing to see here')).toBe('nothing to see here');
    expect(secretRedactor([])(VALUE)).toBe(VALUE);
    expect(secretRedactor([{ name: 'EMPTY', value: '' }])('abc')).toBe('abc');
  });
});

describe('cellRedactor', () => {
  const held = { TOKEN: VALUE, OTHER: 'other-secret-value' };

  test("redacts the secrets a cell's record names, with the host's values", () => {
    const r = cellRedactor(held, ['TOKEN']);
    expect(r(`${VALUE} other-secret-value`)).toBe('[redacted:TOKEN] other-secret-value');
    expect(cellRedactor(held, [])(VALUE)).toBe(VALUE);
  });

  test('redacts every secret of the host for a record that names none (written before records did)', () => {
    expect(cellRedactor(held, undefined)(`${VALUE} other-secret-value`)).toBe('[redacted:TOKEN] [redacted:OTHER]');
  });

  test('does not take a value from Object.prototype', () => {
    expect(cellRedactor({}, ['toString'])('function toString() { [native code] }')).toBe(
      'function toString() { [native code] }',
    );
  });
});
