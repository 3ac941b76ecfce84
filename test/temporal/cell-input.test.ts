// The cell workflow's input as any client may send it (workflows/cell-input.ts): pure.
import { describe, expect, it } from 'vitest';
import { cellInputOf } from '../../workflows/cell-input.ts';

const doc = { apiVersion: 'cellos.io/v1', kind: 'ExecutionCell', spec: { id: 'c' } };

describe('cellInputOf', () => {
  it('takes {document} with every other field optional, and the bare document', () => {
    expect(cellInputOf({ document: doc })).toEqual({ document: doc });
    expect(cellInputOf(doc)).toEqual({ document: doc });
    expect(cellInputOf({ document: doc, taskQueue: 'q', indexed: false, hostScheduleToStartSeconds: 30 })).toEqual({
      document: doc,
      taskQueue: 'q',
      indexed: false,
      hostScheduleToStartSeconds: 30,
    });
    // null is what other SDKs send for an absent optional field.
    expect(cellInputOf({ document: doc, taskQueue: null, scheduleId: null })).toEqual({ document: doc });
  });

  it('names what is wrong with anything else', () => {
    expect(cellInputOf(undefined)).toEqual({ problem: expect.stringMatching(/^the input is undefined: give/) });
    expect(cellInputOf(null)).toEqual({ problem: expect.stringMatching(/^the input is null/) });
    expect(cellInputOf([doc])).toEqual({ problem: expect.stringMatching(/^the input is an array/) });
    expect(cellInputOf('x')).toEqual({ problem: expect.stringMatching(/^the input is string/) });
    expect(cellInputOf({ hello: 1 })).toEqual({ problem: expect.stringMatching(/has no "document"/) });
    expect(cellInputOf({ document: doc, taskQueue: '' })).toEqual({
      problem: 'input.taskQueue must be a non-empty string or absent, not ""',
    });
    expect(cellInputOf({ document: doc, hostScheduleToStartSeconds: 0.5 })).toEqual({
      problem: 'input.hostScheduleToStartSeconds must be a whole number of seconds >= 1 or absent, not 0.5',
    });
    expect(cellInputOf({ document: doc, indexed: 'yes' })).toEqual({
      problem: 'input.indexed must be true or false or absent, not "yes"',
    });
  });
});
