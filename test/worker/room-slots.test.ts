// Launch-queue slots that follow the host's room: a poller gets a slot only while the host is open
// and one more default-size cell would fit on top of the slots given out already.
import type { ActivitySlotInfo, SlotPermit, SlotReleaseContext, SlotReserveContext } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHostRoom, type RoomLimits } from '../../src/host/room.ts';
import { roomSlotSupplier } from '../../src/worker/room-slots.ts';
import { flush, track } from '../helpers/promises.ts';

const MiB = 1024 ** 2;
const DEFAULT = 256 * MiB;
const ctx: SlotReserveContext = {
  slotType: 'activity',
  taskQueue: 'cellos-launch',
  workerIdentity: 'cellos-host h1',
  workerBuildId: '',
  isSticky: false,
};
const released = (permit: SlotPermit): SlotReleaseContext<ActivitySlotInfo> => ({ permit });

function setUp(limits: Partial<RoomLimits> = {}) {
  const clock = { t: 1_000_000 };
  const room = createHostRoom(
    { maxCells: 2, memoryBudgetBytes: 1024 * MiB, defaultCellMemoryBytes: DEFAULT, ...limits },
    () => clock.t,
  );
  const gate = { open: true };
  const isOpen = vi.fn(() => gate.open);
  const slots = roomSlotSupplier(room, isOpen);
  const abort = new AbortController();
  const reserve = (signal: AbortSignal = abort.signal) => track(slots.reserveSlot(ctx, signal));
  return { room, clock, gate, isOpen, slots, abort, reserve };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('roomSlotSupplier', () => {
  it('is a custom slot supplier', () => {
    expect(setUp().slots.type).toBe('custom');
  });

  it('gives a slot at once while the host has room and is open', async () => {
    const { reserve } = setUp();
    const one = reserve();
    await flush();
    expect(one.state).toBe('resolved');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives no more slots than the maximum of cells', async () => {
    const { reserve } = setUp();
    const one = reserve();
    const two = reserve();
    const three = reserve();
    await vi.advanceTimersByTimeAsync(5000);
    expect([one.state, two.state, three.state]).toEqual(['resolved', 'resolved', 'pending']);
  });

  it('counts the cells in the room besides the slots given out', async () => {
    const { room, reserve } = setUp();
    room.tryTake('a', DEFAULT);
    const one = reserve();
    const two = reserve();
    await vi.advanceTimersByTimeAsync(5000);
    expect([one.state, two.state]).toEqual(['resolved', 'pending']);
  });

  it('counts sandboxes found running', async () => {
    const { room, reserve } = setUp();
    room.setFound([
      { sandboxId: 'x', memoryBytes: DEFAULT },
      { sandboxId: 'y', memoryBytes: DEFAULT },
    ]);
    const one = reserve();
    await vi.advanceTimersByTimeAsync(1000);
    expect(one.state).toBe('pending');
  });

  it('gives no slot when one more default-size cell per slot would exceed the memory budget', async () => {
    const { reserve } = setUp({ maxCells: 10, memoryBudgetBytes: 3 * DEFAULT });
    const got = [reserve(), reserve(), reserve(), reserve()];
    await vi.advanceTimersByTimeAsync(1000);
    expect(got.map((s) => s.state)).toEqual(['resolved', 'resolved', 'resolved', 'pending']);
  });

  it('counts the memory the room holds against the budget', async () => {
    const { room, reserve } = setUp({ maxCells: 10, memoryBudgetBytes: 4 * DEFAULT });
    room.tryTake('big', 2 * DEFAULT + 1);
    const one = reserve();
    const two = reserve();
    await vi.advanceTimersByTimeAsync(1000);
    expect([one.state, two.state]).toEqual(['resolved', 'pending']);
  });

  it('gives the waiting slot as soon as a release frees room, without waiting for a recheck', async () => {
    const { room, reserve } = setUp({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const one = reserve();
    await vi.advanceTimersByTimeAsync(1000);
    expect(one.state).toBe('pending');
    room.release('a');
    await flush();
    expect(one.state).toBe('resolved');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives the slot once a lapsing hold frees room, within a recheck', async () => {
    const { room, clock, reserve } = setUp({ maxCells: 1 });
    room.tryTake('a', DEFAULT, 1000);
    const one = reserve();
    await vi.advanceTimersByTimeAsync(500);
    expect(one.state).toBe('pending');
    clock.t += 1000;
    await vi.advanceTimersByTimeAsync(250);
    expect(one.state).toBe('resolved');
  });

  it('gives the room one release frees to one waiter only', async () => {
    const { room, reserve } = setUp({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const one = reserve();
    const two = reserve();
    await flush();
    room.release('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect([one.state, two.state].sort()).toEqual(['pending', 'resolved']);
  });

  it('rejects with the abort reason as soon as the signal aborts, leaving no timer and no listener', async () => {
    const { room, abort, reserve } = setUp({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const subscribe = vi.spyOn(room, 'onFreed');
    const one = reserve();
    await flush();
    expect(subscribe).toHaveBeenCalledTimes(1);
    const reason = new Error('worker shutting down');
    abort.abort(reason);
    await flush();
    expect(one).toMatchObject({ state: 'rejected', error: reason });
    expect(vi.getTimerCount()).toBe(0);
    // Not spinning: no recheck is scheduled and no new subscription made after the rejection.
    await vi.advanceTimersByTimeAsync(5000);
    expect(subscribe).toHaveBeenCalledTimes(1);
  });

  it('rejects with an AbortError when the signal aborts without a reason of its own', async () => {
    const { room, reserve } = setUp({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const signal = {
      aborted: false,
      reason: undefined,
      addEventListener: (_: string, listener: () => void) => {
        signal.fire = listener;
      },
      removeEventListener: () => undefined,
      fire: undefined as undefined | (() => void),
    };
    const one = reserve(signal as unknown as AbortSignal);
    await flush();
    signal.aborted = true;
    signal.fire?.();
    await flush();
    expect(one.state).toBe('rejected');
    expect((one.error as Error).name).toBe('AbortError');
  });

  it('rejects at once on a full host when the signal is aborted already', async () => {
    const { room, abort, reserve } = setUp({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    abort.abort(new Error('gone'));
    const one = reserve();
    await flush();
    expect(one).toMatchObject({ state: 'rejected', error: new Error('gone') });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives a slot on an aborted signal when there is room (nothing to wait for)', async () => {
    const { abort, reserve } = setUp();
    abort.abort();
    const one = reserve();
    await flush();
    expect(one.state).toBe('resolved');
  });

  it('looks again about every 250 ms while it waits, not in a busy loop', async () => {
    const { room, isOpen, reserve } = setUp({ maxCells: 1 });
    room.tryTake('a', DEFAULT);
    const one = reserve();
    await flush();
    isOpen.mockClear();
    await vi.advanceTimersByTimeAsync(1000);
    expect(one.state).toBe('pending');
    expect(isOpen.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(isOpen.mock.calls.length).toBeLessThanOrEqual(5);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('gives no slot while the host is closed (draining or stopping), though it has room', async () => {
    const { gate, reserve } = setUp();
    gate.open = false;
    const one = reserve();
    await vi.advanceTimersByTimeAsync(5000);
    expect(one.state).toBe('pending');
    gate.open = true;
    await vi.advanceTimersByTimeAsync(250);
    expect(one.state).toBe('resolved');
  });

  it('frees a slot on releaseSlot, for the next reservation', async () => {
    const { slots, reserve } = setUp();
    const one = reserve();
    const two = reserve();
    const three = reserve();
    await flush();
    expect(three.state).toBe('pending');
    slots.releaseSlot(released(one.value!));
    await vi.advanceTimersByTimeAsync(250);
    expect(three.state).toBe('resolved');
    expect(two.state).toBe('resolved');
  });

  it('does not count releases beyond the slots given out', async () => {
    const { slots, reserve } = setUp();
    slots.releaseSlot(released({}));
    slots.releaseSlot(released({}));
    const got = [reserve(), reserve(), reserve()];
    await vi.advanceTimersByTimeAsync(1000);
    expect(got.map((s) => s.state)).toEqual(['resolved', 'resolved', 'pending']);
  });

  it('does not change the room by giving or using slots (the claim takes the room)', async () => {
    const { room, slots, reserve } = setUp();
    const one = reserve();
    await flush();
    slots.markSlotUsed({ permit: one.value!, slotInfo: {} as ActivitySlotInfo });
    expect(room.use()).toEqual({ cells: 0, memoryBytes: 0 });
  });

  describe('tryReserveSlot', () => {
    it('gives a slot while there is room, and null once the slots fill it, without waiting', () => {
      const { slots } = setUp();
      expect(slots.tryReserveSlot(ctx)).not.toBeNull();
      expect(slots.tryReserveSlot(ctx)).not.toBeNull();
      expect(slots.tryReserveSlot(ctx)).toBeNull();
      expect(vi.getTimerCount()).toBe(0);
    });

    it('gives null on a full room or a closed host', () => {
      const full = setUp({ maxCells: 1 });
      full.room.tryTake('a', DEFAULT);
      expect(full.slots.tryReserveSlot(ctx)).toBeNull();
      const closed = setUp();
      closed.gate.open = false;
      expect(closed.slots.tryReserveSlot(ctx)).toBeNull();
    });

    it('shares the count with reserveSlot and releaseSlot', async () => {
      const { slots, reserve } = setUp();
      const permit = slots.tryReserveSlot(ctx);
      expect(permit).not.toBeNull();
      const one = reserve();
      const two = reserve();
      await flush();
      expect([one.state, two.state]).toEqual(['resolved', 'pending']);
      slots.releaseSlot(released(permit!));
      await vi.advanceTimersByTimeAsync(250);
      expect(two.state).toBe('resolved');
      expect(slots.tryReserveSlot(ctx)).toBeNull();
    });
  });
});
