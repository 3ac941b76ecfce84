// A host's room: how many cells and how much memory (the sum of their cells' limits) it holds now,
// against its maximum. Cells take room when a host claims them from the launch queue (or, for a run
// that came without a claim, before it launches) and give it back when their sandbox ends. Sandboxes
// a previous worker process left running count too: they are found in the cell records at start
// and on every rescan. All decisions are synchronous, so two claims in one process never both take
// the last room.

export interface RoomLimits {
  readonly maxCells: number;
  readonly memoryBudgetBytes: number;
  /** What a cell without a memory limit of its own holds (the host's default limit). */
  readonly defaultCellMemoryBytes: number;
}

export interface RoomUse {
  readonly cells: number;
  readonly memoryBytes: number;
}

/** A sandbox that holds room: its id and memory. */
export interface Occupant {
  readonly sandboxId: string;
  readonly memoryBytes: number;
}

export interface HostRoom {
  readonly limits: RoomLimits;
  /** Room in use now: cells taken here and sandboxes found running, each once. */
  use(): RoomUse;
  /** The most room ever in use at once since this room was created. */
  highWater(): RoomUse;
  /** Whether `cells` more cells needing `memoryBytes` between them would fit now. */
  fits(cells: number, memoryBytes: number): boolean;
  /**
   * Takes room for a sandbox if it fits (true), else false. Taking again what is already taken
   * succeeds and keeps it. `holdMs`: given back by itself after this long unless adopt() is called.
   */
  tryTake(sandboxId: string, memoryBytes: number, holdMs?: number): boolean;
  /** Keeps room taken with a hold for good (the run that the claim was for arrived). */
  adopt(sandboxId: string): boolean;
  /**
   * Waits until the sandbox's room is taken (adopting a claim, or waiting for room): true; or
   * false once `opts.giveUp` says to stop waiting.
   */
  take(sandboxId: string, memoryBytes: number, opts: TakeOptions): Promise<boolean>;
  /** Gives the sandbox's room back (its sandbox ended, or never started). */
  release(sandboxId: string): void;
  /** Replaces what was found running on the host (the records' view). */
  setFound(found: readonly Occupant[]): void;
  /** Called whenever room may have been freed. Returns a function that unsubscribes. */
  onFreed(listener: () => void): () => void;
}

export interface TakeOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called about every second while the host is full. */
  readonly onWait?: ((use: RoomUse) => void) | undefined;
  /** Asked about every second while the host is full: true stops the wait. */
  readonly giveUp?: (() => Promise<boolean>) | undefined;
}

export class RoomLimitError extends RangeError {
  override readonly name = 'RoomLimitError';
}

export function createHostRoom(limits: RoomLimits, now: () => number = Date.now): HostRoom {
  const { maxCells, memoryBudgetBytes, defaultCellMemoryBytes } = limits;
  if (!Number.isInteger(maxCells) || maxCells < 1) throw new RoomLimitError(`max cells ${maxCells} must be >= 1`);
  if (!Number.isSafeInteger(memoryBudgetBytes) || memoryBudgetBytes < defaultCellMemoryBytes) {
    throw new RoomLimitError(
      `memory budget ${memoryBudgetBytes} must be a whole number of bytes, at least one cell's default memory (${defaultCellMemoryBytes})`,
    );
  }
  const taken = new Map<string, { memoryBytes: number; until: number | undefined }>();
  let found = new Map<string, number>();
  let high: RoomUse = { cells: 0, memoryBytes: 0 };
  const listeners = new Set<() => void>();
  const freed = () => {
    for (const l of listeners) l();
  };

  const expire = () => {
    const t = now();
    let any = false;
    for (const [id, e] of taken) {
      if (e.until !== undefined && e.until <= t) {
        taken.delete(id);
        any = true;
      }
    }
    if (any) freed();
  };
  const use = (): RoomUse => {
    expire();
    let cells = 0;
    let memoryBytes = 0;
    for (const [id, e] of taken) {
      cells++;
      memoryBytes += e.memoryBytes;
      found.delete(id); // counted as taken from now on
    }
    for (const m of found.values()) {
      cells++;
      memoryBytes += m;
    }
    return { cells, memoryBytes };
  };
  const noteHigh = () => {
    const u = use();
    high = { cells: Math.max(high.cells, u.cells), memoryBytes: Math.max(high.memoryBytes, u.memoryBytes) };
  };
  const fits = (cells: number, memoryBytes: number) => {
    const u = use();
    return u.cells + cells <= maxCells && u.memoryBytes + memoryBytes <= memoryBudgetBytes;
  };
  const tryTake = (sandboxId: string, memoryBytes: number, holdMs?: number) => {
    const mine = taken.get(sandboxId);
    if (mine) return true;
    if (found.has(sandboxId)) {
      // Running already (left by an earlier process): it holds its room.
      taken.set(sandboxId, { memoryBytes: found.get(sandboxId)!, until: undefined });
      return true;
    }
    if (!fits(1, memoryBytes)) return false;
    taken.set(sandboxId, { memoryBytes, until: holdMs === undefined ? undefined : now() + holdMs });
    noteHigh();
    return true;
  };
  return {
    limits,
    use,
    highWater: () => high,
    fits,
    tryTake,
    adopt(sandboxId) {
      expire();
      const e = taken.get(sandboxId);
      if (!e) return false;
      e.until = undefined;
      return true;
    },
    async take(sandboxId, memoryBytes, { signal, onWait, giveUp } = {}) {
      expire();
      if (taken.has(sandboxId)) {
        taken.get(sandboxId)!.until = undefined;
        return true;
      }
      let lastBeat = 0;
      while (!tryTake(sandboxId, memoryBytes)) {
        signal?.throwIfAborted();
        if (now() - lastBeat >= 1000) {
          lastBeat = now();
          onWait?.(use());
          if (giveUp && (await giveUp())) return false;
          if (tryTake(sandboxId, memoryBytes)) break;
        }
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            off();
            signal?.removeEventListener('abort', done);
            resolve();
          };
          // Also on a timer: holds expire and records are rescanned without telling anyone.
          const timer = setTimeout(done, 250);
          const off = subscribe(done);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
      return true;
    },
    release(sandboxId) {
      // Both: a found sandbox taken here stays in `found` until use() next runs.
      const hadTaken = taken.delete(sandboxId);
      const hadFound = found.delete(sandboxId);
      if (hadTaken || hadFound) freed();
    },
    setFound(occupants) {
      expire(); // a lapsed hold must not hide a sandbox found running
      const before = found.size;
      found = new Map(occupants.filter((o) => !taken.has(o.sandboxId)).map((o) => [o.sandboxId, o.memoryBytes]));
      if (found.size < before) freed();
      noteHigh();
    },
    onFreed: subscribe,
  };

  function subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }
}
