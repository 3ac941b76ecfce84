// A host's room: cells and memory taken here or found running, each counted once, against the
// host's maximum; holds that lapse, waits that end when room is freed, gives up or is aborted.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHostRoom, RoomLimitError, type RoomLimits } from '../../src/host/room.ts';
import { flush, track } from '../helpers/promises.ts';

const MiB = 1024 ** 2;
const DEFAULT = 256 * MiB;
const LIMITS: RoomLimits = { maxCells: 2, memoryBudgetBytes: 1024 * MiB, defaultCellMemoryBytes: DEFAULT };

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function makeRoom(limits: Partial<RoomLimits> = {}) {
  const clock = manualClock();
  const room = createHostRoom({ ...LIMITS, ...limits }, clock.now);
  const freed = vi.fn();
  room.onFreed(freed);
  return { room, clock, freed };
}

describe('createHostRoom limits', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses max cells %s, naming it', (maxCells) => {
    expect(() => createHostRoom({ ...LIMITS, maxCells })).toThrow(
      new RoomLimitError(`max cells ${maxCells} must be >= 1`),
    );
  });

  it.each([DEFAULT - 1, 1024 * MiB + 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])(
    'refuses a memory budget of %s, naming it and the default cell memory',
    (memoryBudgetBytes) => {
      expect(() => createHostRoom({ ...LIMITS, memoryBudgetBytes })).toThrow(
        `memory budget ${memoryBudgetBytes} must be a whole number of bytes, at least one cell's default memory (${DEFAULT})`,
      );
    },
  );

  it('throws a RoomLimitError, which is a RangeError', () => {
    try {
      createHostRoom({ ...LIMITS, maxCells: 0 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RoomLimitError);
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).name).toBe('RoomLimitError');
    }
  });

  it('takes the smallest room: one cell, a budget of one default cell', () => {
    const room = createHostRoom({ ...LIMITS, maxCells: 1, memoryBudgetBytes: DEFAULT });
    expect(room.limits).toEqual({ maxCells: 1, memoryBudgetBytes: DEFAULT, defaultCellMemoryBytes: DEFAULT });
    expect(room.tryTake('a', DEFAULT)).toBe(true);
    expect(room.tryTake('b', 1)).toBe(false);
  });
});

describe('fits and tryTake', () => {
  it('starts empty', () => {
    const { room } = makeRoom();
    expect(room.use()).toEqual({ cells: 0, memoryBytes: 0 });
    expect(room.highWater()).toEqual({ cells: 0, memoryBytes: 0 });
  });

  it('fits up to the maximum of cells and the memory budget, not beyond', () => {
    const { room } = makeRoom();
    expect(room.fits(2, 0)).toBe(true);
    expect(room.fits(3, 0)).toBe(false);
    expect(room.fits(1, 1024 * MiB)).toBe(true);
    expect(room.fits(1, 1024 * MiB + 1)).toBe(false);
  });

  it('reads the memory fits() is given as what the cells need between them', () => {
    const { room } = makeRoom({ maxCells: 8 });
    expect(room.fits(4, 4 * DEFAULT)).toBe(true);
    expect(room.fits(5, 5 * DEFAULT)).toBe(false);
  });

  it('counts what fits against the room in use', () => {
    const { room } = makeRoom();
    expect(room.tryTake('a', 600 * MiB)).toBe(true);
    expect(room.fits(1, 424 * MiB)).toBe(true);
    expect(room.fits(1, 425 * MiB)).toBe(false);
    expect(room.fits(2, 0)).toBe(false);
  });

  it('takes room while cells fit and refuses the cell beyond the maximum', () => {
    const { room } = makeRoom();
    expect(room.tryTake('a', DEFAULT)).toBe(true);
    expect(room.tryTake('b', DEFAULT)).toBe(true);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: 2 * DEFAULT });
    expect(room.tryTake('c', 1)).toBe(false);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: 2 * DEFAULT });
  });

  it('refuses a cell beyond the memory budget though cells remain, and takes one exactly at it', () => {
    const { room } = makeRoom({ maxCells: 4 });
    expect(room.tryTake('a', 700 * MiB)).toBe(true);
    expect(room.tryTake('b', 325 * MiB)).toBe(false);
    expect(room.use()).toEqual({ cells: 1, memoryBytes: 700 * MiB });
    expect(room.tryTake('b', 324 * MiB)).toBe(true);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: 1024 * MiB });
  });

  it('succeeds when taking again what is taken, even when full, and counts it once with its first memory', () => {
    const { room } = makeRoom();
    expect(room.tryTake('a', DEFAULT)).toBe(true);
    expect(room.tryTake('b', DEFAULT)).toBe(true);
    expect(room.tryTake('a', 512 * MiB)).toBe(true);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: 2 * DEFAULT });
  });

  it('gives room back on release, telling the listeners', () => {
    const { room, freed } = makeRoom();
    room.tryTake('a', DEFAULT);
    room.tryTake('b', DEFAULT);
    room.release('a');
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
    expect(freed).toHaveBeenCalledTimes(1);
    expect(room.tryTake('c', DEFAULT)).toBe(true);
  });

  it('ignores the release of a sandbox that holds no room', () => {
    const { room, freed } = makeRoom();
    room.tryTake('a', DEFAULT);
    room.release('nobody');
    room.release('a');
    room.release('a');
    expect(freed).toHaveBeenCalledTimes(1);
    expect(room.use()).toEqual({ cells: 0, memoryBytes: 0 });
  });
});

describe('holds', () => {
  it('gives a held claim back by itself once holdMs has passed, and not before', () => {
    const { room, clock, freed } = makeRoom();
    expect(room.tryTake('a', DEFAULT, 1000)).toBe(true);
    clock.t += 999;
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
    expect(freed).not.toHaveBeenCalled();
    clock.t += 1;
    expect(room.use()).toEqual({ cells: 0, memoryBytes: 0 });
    expect(freed).toHaveBeenCalledTimes(1);
  });

  it('lets a lapsed hold make room for another cell', () => {
    const { room, clock } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT, 1000);
    expect(room.tryTake('b', DEFAULT)).toBe(false);
    clock.t += 1000;
    expect(room.tryTake('b', DEFAULT)).toBe(true);
    expect(room.use().cells).toBe(1);
  });

  it('keeps room taken without a hold however long it is held', () => {
    const { room, clock } = makeRoom();
    room.tryTake('a', DEFAULT);
    clock.t += 365 * 24 * 3600 * 1000;
    expect(room.use().cells).toBe(1);
  });

  it('keeps an adopted claim for good', () => {
    const { room, clock } = makeRoom();
    room.tryTake('a', DEFAULT, 1000);
    clock.t += 500;
    expect(room.adopt('a')).toBe(true);
    clock.t += 10_000;
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
  });

  it('adopts nothing once the hold has lapsed, nor a sandbox that took no room', () => {
    const { room, clock } = makeRoom();
    room.tryTake('a', DEFAULT, 1000);
    clock.t += 1000;
    expect(room.adopt('a')).toBe(false);
    expect(room.adopt('nobody')).toBe(false);
    expect(room.use().cells).toBe(0);
  });

  it('gives a held claim back at once on release', () => {
    const { room, clock, freed } = makeRoom();
    room.tryTake('a', DEFAULT, 1000);
    room.release('a');
    expect(room.use().cells).toBe(0);
    clock.t += 1000;
    room.use();
    expect(freed).toHaveBeenCalledTimes(1);
  });
});

describe('setFound', () => {
  it('counts the sandboxes found running, with their memory', () => {
    const { room } = makeRoom({ maxCells: 4 });
    room.setFound([
      { sandboxId: 'x', memoryBytes: 100 * MiB },
      { sandboxId: 'y', memoryBytes: 200 * MiB },
    ]);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: 300 * MiB });
  });

  it('replaces what was found before', () => {
    const { room } = makeRoom({ maxCells: 4 });
    room.setFound([{ sandboxId: 'x', memoryBytes: 100 * MiB }]);
    room.setFound([{ sandboxId: 'y', memoryBytes: 200 * MiB }]);
    expect(room.use()).toEqual({ cells: 1, memoryBytes: 200 * MiB });
    room.setFound([]);
    expect(room.use()).toEqual({ cells: 0, memoryBytes: 0 });
  });

  it('counts a found sandbox that was taken here once, with the memory it was taken with', () => {
    const { room } = makeRoom({ maxCells: 4 });
    room.tryTake('a', DEFAULT);
    room.setFound([
      { sandboxId: 'a', memoryBytes: 999 * MiB },
      { sandboxId: 'b', memoryBytes: 100 * MiB },
    ]);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: DEFAULT + 100 * MiB });
    expect(room.use()).toEqual({ cells: 2, memoryBytes: DEFAULT + 100 * MiB });
  });

  it('counts a sandbox found and then taken once, with the memory it was found with, even when full', () => {
    const { room } = makeRoom();
    room.setFound([
      { sandboxId: 'a', memoryBytes: 300 * MiB },
      { sandboxId: 'b', memoryBytes: 300 * MiB },
    ]);
    expect(room.tryTake('c', 1)).toBe(false);
    expect(room.tryTake('a', DEFAULT)).toBe(true);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: 600 * MiB });
    room.setFound([
      { sandboxId: 'a', memoryBytes: 300 * MiB },
      { sandboxId: 'b', memoryBytes: 300 * MiB },
    ]);
    expect(room.use()).toEqual({ cells: 2, memoryBytes: 600 * MiB });
  });

  it('keeps a found sandbox that was taken here counted after a rescan no longer lists it', () => {
    const { room } = makeRoom();
    room.setFound([{ sandboxId: 'a', memoryBytes: DEFAULT }]);
    room.tryTake('a', DEFAULT);
    room.setFound([]);
    expect(room.use().cells).toBe(1);
  });

  it('gives back a found sandbox that was taken, when it is released', () => {
    const { room, freed } = makeRoom();
    room.setFound([{ sandboxId: 'a', memoryBytes: DEFAULT }]);
    expect(room.tryTake('a', DEFAULT)).toBe(true);
    room.release('a');
    expect(room.use()).toEqual({ cells: 0, memoryBytes: 0 });
    expect(freed).toHaveBeenCalled();
  });

  it('gives back a found sandbox that was taken and counted, when it is released', () => {
    const { room } = makeRoom();
    room.setFound([{ sandboxId: 'a', memoryBytes: DEFAULT }]);
    room.tryTake('a', DEFAULT);
    expect(room.use().cells).toBe(1);
    room.release('a');
    expect(room.use()).toEqual({ cells: 0, memoryBytes: 0 });
  });

  it('gives back a found sandbox on release, telling the listeners', () => {
    const { room, freed } = makeRoom();
    room.setFound([{ sandboxId: 'x', memoryBytes: DEFAULT }]);
    room.release('x');
    expect(room.use().cells).toBe(0);
    expect(freed).toHaveBeenCalledTimes(1);
  });

  it('counts found sandboxes against new cells', () => {
    const { room } = makeRoom();
    room.setFound([
      { sandboxId: 'x', memoryBytes: 1 },
      { sandboxId: 'y', memoryBytes: 1 },
    ]);
    expect(room.fits(1, 1)).toBe(false);
    expect(room.tryTake('a', 1)).toBe(false);
  });

  it('counts every sandbox found running, even beyond the maximum (left by a larger worker)', () => {
    const { room } = makeRoom({ maxCells: 1 });
    room.setFound([
      { sandboxId: 'x', memoryBytes: DEFAULT },
      { sandboxId: 'y', memoryBytes: DEFAULT },
      { sandboxId: 'z', memoryBytes: DEFAULT },
    ]);
    expect(room.use()).toEqual({ cells: 3, memoryBytes: 3 * DEFAULT });
  });

  it('tells the listeners when fewer sandboxes are found, not when more are', () => {
    const { room, freed } = makeRoom({ maxCells: 4 });
    room.setFound([{ sandboxId: 'x', memoryBytes: DEFAULT }]);
    room.setFound([
      { sandboxId: 'x', memoryBytes: DEFAULT },
      { sandboxId: 'y', memoryBytes: DEFAULT },
    ]);
    expect(freed).not.toHaveBeenCalled();
    room.setFound([{ sandboxId: 'y', memoryBytes: DEFAULT }]);
    expect(freed).toHaveBeenCalledTimes(1);
  });

  it('counts a sandbox found running whose claim hold has lapsed', () => {
    const { room, clock } = makeRoom();
    room.tryTake('a', DEFAULT, 1000);
    clock.t += 1000;
    room.setFound([{ sandboxId: 'a', memoryBytes: DEFAULT }]);
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
  });
});

describe('highWater', () => {
  it('records the most cells and memory in use at once, and does not fall when room is freed', () => {
    const { room } = makeRoom({ maxCells: 3 });
    room.tryTake('a', 100 * MiB);
    room.tryTake('b', 200 * MiB);
    room.release('a');
    room.tryTake('c', 300 * MiB);
    expect(room.highWater()).toEqual({ cells: 2, memoryBytes: 500 * MiB });
    room.release('b');
    room.release('c');
    expect(room.highWater()).toEqual({ cells: 2, memoryBytes: 500 * MiB });
  });

  it('keeps the most cells and the most memory each, though reached at different times', () => {
    const { room } = makeRoom({ maxCells: 3 });
    room.tryTake('a', 1);
    room.tryTake('b', 1);
    room.tryTake('c', 1);
    for (const id of ['a', 'b', 'c']) room.release(id);
    room.tryTake('big', 1000 * MiB);
    expect(room.highWater()).toEqual({ cells: 3, memoryBytes: 1000 * MiB });
  });

  it('is not raised by a refused cell', () => {
    const { room } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    room.tryTake('b', DEFAULT);
    expect(room.highWater()).toEqual({ cells: 1, memoryBytes: DEFAULT });
  });

  it('counts sandboxes found running', () => {
    const { room } = makeRoom({ maxCells: 4 });
    room.setFound([
      { sandboxId: 'x', memoryBytes: DEFAULT },
      { sandboxId: 'y', memoryBytes: DEFAULT },
      { sandboxId: 'z', memoryBytes: DEFAULT },
    ]);
    expect(room.highWater()).toEqual({ cells: 3, memoryBytes: 3 * DEFAULT });
    room.tryTake('a', DEFAULT);
    expect(room.highWater()).toEqual({ cells: 4, memoryBytes: 4 * DEFAULT });
  });
});

describe('onFreed', () => {
  it('calls every listener until it unsubscribes', () => {
    const { room } = makeRoom();
    const one = vi.fn();
    const two = vi.fn();
    const offOne = room.onFreed(one);
    room.onFreed(two);
    room.tryTake('a', DEFAULT);
    room.release('a');
    offOne();
    room.tryTake('b', DEFAULT);
    room.release('b');
    expect(one).toHaveBeenCalledTimes(1);
    expect(two).toHaveBeenCalledTimes(2);
  });

  it('is not called when room is taken', () => {
    const { room, freed } = makeRoom();
    room.tryTake('a', DEFAULT);
    room.tryTake('b', DEFAULT, 1000);
    room.adopt('b');
    expect(freed).not.toHaveBeenCalled();
  });
});

describe('take', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('takes room at once when it fits', async () => {
    const { room } = makeRoom();
    await expect(room.take('a', DEFAULT, {})).resolves.toBe(true);
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
  });

  it('adopts a held claim, even on a full host, without taking room twice', async () => {
    const { room, clock } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT, 1000);
    await expect(room.take('a', DEFAULT, {})).resolves.toBe(true);
    clock.t += 60_000;
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
  });

  it('takes room again for a claim whose hold lapsed, when it fits', async () => {
    const { room, clock } = makeRoom();
    room.tryTake('a', DEFAULT, 1000);
    clock.t += 1000;
    await expect(room.take('a', DEFAULT, {})).resolves.toBe(true);
    clock.t += 60_000;
    expect(room.use().cells).toBe(1);
  });

  it('takes a sandbox found running at once on a full host', async () => {
    const { room } = makeRoom({ maxCells: 1 });
    room.setFound([{ sandboxId: 'a', memoryBytes: DEFAULT }]);
    await expect(room.take('a', DEFAULT, {})).resolves.toBe(true);
    expect(room.use().cells).toBe(1);
  });

  it('waits while the host is full and takes room as soon as a release frees it', async () => {
    const { room } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const b = track(room.take('b', DEFAULT, {}));
    await vi.advanceTimersByTimeAsync(5000);
    expect(b.state).toBe('pending');
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
    room.release('a');
    await flush();
    expect(b).toMatchObject({ state: 'resolved', value: true });
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
  });

  it('waits while the memory budget is spent, though cells remain', async () => {
    const { room } = makeRoom({ maxCells: 4 });
    room.tryTake('a', 800 * MiB);
    const b = track(room.take('b', 300 * MiB, {}));
    await vi.advanceTimersByTimeAsync(1000);
    expect(b.state).toBe('pending');
    room.release('a');
    await flush();
    expect(b.state).toBe('resolved');
    expect(room.use()).toEqual({ cells: 1, memoryBytes: 300 * MiB });
  });

  it('takes room freed by a lapsing hold, which tells no one, within a recheck', async () => {
    const { room, clock } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT, 1000);
    const b = track(room.take('b', DEFAULT, {}));
    await flush();
    expect(b.state).toBe('pending');
    clock.t += 1000;
    await vi.advanceTimersByTimeAsync(250);
    expect(b.state).toBe('resolved');
  });

  it('gives the room one release frees to one waiter only', async () => {
    const { room } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const b = track(room.take('b', DEFAULT, {}));
    const c = track(room.take('c', DEFAULT, {}));
    await flush();
    room.release('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect([b.state, c.state].sort()).toEqual(['pending', 'resolved']);
    expect(room.use().cells).toBe(1);
  });

  it('reports the room in use while it waits, about once a second', async () => {
    const { room, clock } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const onWait = vi.fn();
    const b = track(room.take('b', DEFAULT, { onWait }));
    await flush();
    expect(onWait).toHaveBeenCalledTimes(1);
    expect(onWait).toHaveBeenLastCalledWith({ cells: 1, memoryBytes: DEFAULT });
    for (let i = 0; i < 4; i++) {
      clock.t += 250;
      await vi.advanceTimersByTimeAsync(250);
    }
    expect(onWait).toHaveBeenCalledTimes(2);
    room.release('a');
    await flush();
    expect(b.state).toBe('resolved');
  });

  it('stops waiting, taking nothing, once giveUp says so, asking about once a second', async () => {
    const { room, clock } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    let answer = false;
    const giveUp = vi.fn(() => Promise.resolve(answer));
    const b = track(room.take('b', DEFAULT, { giveUp }));
    await flush();
    expect(giveUp).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 4; i++) {
      clock.t += 250;
      await vi.advanceTimersByTimeAsync(250);
    }
    expect(giveUp).toHaveBeenCalledTimes(2);
    expect(b.state).toBe('pending');
    answer = true;
    clock.t += 1000;
    await vi.advanceTimersByTimeAsync(250);
    expect(b).toMatchObject({ state: 'resolved', value: false });
    expect(room.use()).toEqual({ cells: 1, memoryBytes: DEFAULT });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not ask giveUp when the room fits', async () => {
    const { room } = makeRoom();
    const giveUp = vi.fn(() => Promise.resolve(true));
    await expect(room.take('a', DEFAULT, { giveUp })).resolves.toBe(true);
    expect(giveUp).not.toHaveBeenCalled();
  });

  it('rejects with the abort reason as soon as the signal aborts, taking nothing and leaving no timer', async () => {
    const { room } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const abort = new AbortController();
    const b = track(room.take('b', DEFAULT, { signal: abort.signal }));
    await flush();
    expect(b.state).toBe('pending');
    const reason = new Error('activity cancelled');
    abort.abort(reason);
    await flush();
    expect(b).toMatchObject({ state: 'rejected', error: reason });
    expect(vi.getTimerCount()).toBe(0);
    room.release('a');
    expect(room.use().cells).toBe(0);
  });

  it('rejects at once on a full host when the signal is aborted already', async () => {
    const { room } = makeRoom({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const abort = new AbortController();
    abort.abort(new Error('gone'));
    await expect(room.take('b', DEFAULT, { signal: abort.signal })).rejects.toThrow('gone');
    expect(room.use().cells).toBe(1);
  });
});
