// What the client programs in other languages (test/fixtures/clients: start_cell.py, go/main.go)
// print, and what every one of them must have seen: the first cell's exit and output, the second's
// phase before its kill and its killed outcome, each result as schemas/ promises it.
import { expect } from 'vitest';
import { expectMatchesSchema } from './contract-schemas.ts';

interface StartCellOutput {
  result: { cellId: string; outcome: unknown; stdout: { tail: string } };
  killed: { outcome: { kind: string; reason?: string } };
  phaseBeforeKill: string;
}

/** `stdout`: the program's one JSON object; the first cell printed `<marker>\n` and exited 7. */
export function expectStartCellOutput(stdout: string, cellId: string, marker: string, killReason: string): void {
  const out = JSON.parse(stdout) as StartCellOutput;
  expectMatchesSchema('result', out.result);
  expectMatchesSchema('result', out.killed);
  expect(out.result.cellId).toBe(cellId);
  expect(out.result.outcome).toEqual({ kind: 'exited', code: 7 });
  expect(out.result.stdout.tail).toBe(`${marker}\n`);
  expect(out.phaseBeforeKill).toBe('running');
  expect(out.killed.outcome).toMatchObject({ kind: 'killed', reason: killReason });
}
