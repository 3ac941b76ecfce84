// What the Temporal UI shows of a document: Markdown, so a document's strings are code spans that
// no backtick inside can end.
import { describe, expect, it } from 'vitest';
import { cellDetails, codeSpan } from '../../src/client/details.ts';
import { cellDocument } from '../helpers/documents.ts';

describe('codeSpan', () => {
  it('fences text with one backtick more than its longest run', () => {
    expect(codeSpan('plain')).toBe('`plain`');
    expect(codeSpan('a`b')).toBe('`` a`b ``');
    expect(codeSpan('x ``` y')).toBe('```` x ``` y ````');
  });
});

describe('cellDetails', () => {
  it('shows argv and the correlation id as code spans that a hostile backtick cannot leave', () => {
    const doc = cellDocument(['/bin/echo', '`](http://evil.example/x.png)'], {
      spec: { correlation: { correlationId: 'p` ![t](http://evil.example/t.png) `' } },
    });
    const lines = cellDetails(doc).split('\n');
    expect(lines[0]).toBe('**argv** `` ["/bin/echo","`](http://evil.example/x.png)"] ``');
    expect(lines.at(-1)).toBe('**correlation** `` "p` ![t](http://evil.example/t.png) `" ``');
  });
});
