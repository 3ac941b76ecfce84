// The worker's check of the namespace's cell search attributes (unit: a stand-in for the operator
// service; the real server's answer is used by every Temporal test's worker).
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../../src/contract/index.ts';
import { searchAttributesRegistered } from '../../src/worker/search-attributes.ts';

function clientWith(names: () => string[] | Error): { client: Client; calls: () => number } {
  let calls = 0;
  const listSearchAttributes = () => {
    calls++;
    const have = names();
    if (have instanceof Error) return Promise.reject(have);
    return Promise.resolve({ customAttributes: Object.fromEntries(have.map((n) => [n, 1])) });
  };
  const client = { options: { namespace: 'ns1' }, connection: { operatorService: { listSearchAttributes } } };
  return { client: client as unknown as Client, calls: () => calls };
}

const ALL = SEARCH_ATTRIBUTES.map((a) => a.name);

describe('searchAttributesRegistered', () => {
  it('says true when every attribute is there, and reports nothing', async () => {
    const heard: string[][] = [];
    const { client } = clientWith(() => ALL);
    expect(await searchAttributesRegistered(client, (m) => heard.push([...m]))()).toBe(true);
    expect(heard).toEqual([]);
  });

  it('names the missing attributes once, with the command that registers them, and asks at most once a minute', async () => {
    const heard: { missing: string[]; fix: string }[] = [];
    const { client, calls } = clientWith(() => ALL.filter((n) => n !== 'CellCorrelationId'));
    const registered = searchAttributesRegistered(client, (m, fix) => heard.push({ missing: [...m], fix }));
    expect(await registered()).toBe(false);
    expect(await registered()).toBe(false);
    expect(calls()).toBe(1);
    expect(heard).toEqual([
      {
        missing: ['CellCorrelationId'],
        fix: 'temporal operator search-attribute create --namespace ns1 --name CellCorrelationId --type Keyword',
      },
    ]);
  });

  it('says false without a report when the server cannot say', async () => {
    const heard: string[][] = [];
    const { client } = clientWith(() => new Error('permission denied'));
    expect(await searchAttributesRegistered(client, (m) => heard.push([...m]))()).toBe(false);
    expect(heard).toEqual([]);
  });
});
