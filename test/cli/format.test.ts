// Free text of a document in a terminal table.
import { describe, expect, it } from 'vitest';
import { formatTable, printable } from '../../src/cli/format.ts';

describe('printable', () => {
  it('escapes control characters, spaces and backslashes so a value stays one inert column', () => {
    expect(printable('run-42')).toBe('run-42');
    expect(printable('a b\tc\nd\u001b[2J\u009b\u2028')).toBe('a\\u0020b\\u0009c\\u000ad\\u001b[2J\\u009b\\u2028');
    expect(printable('C:\\u001b')).toBe('C:\\\\u001b');
    expect(printable('é ü 管')).toBe('é\\u0020ü\\u0020管');
  });

  it('keeps a table line one line whatever the value holds', () => {
    const table = formatTable(['ID', 'CORRELATION'], [['c1', printable('x\ny\rz')]]);
    expect(table.split('\n')).toHaveLength(2);
  });
});
