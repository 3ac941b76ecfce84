// What a call threw, checked to be of the class a test expects: one helper for every suite.
import { expect } from 'vitest';

export function thrownBy<E extends Error>(run: () => unknown, cls: new (...args: never[]) => E): E {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected a ${cls.name}`).toBeInstanceOf(cls);
  return thrown as E;
}
