// Phases of a cell (or any long wait) as they happen, on stderr: on a terminal one line that updates
// with the elapsed time, otherwise a plain line per change (`[0.21s] running on host H (sandbox S)`).
import type { CellStatus } from '../contract/index.ts';
import { describeStatus, formatSeconds } from './format.ts';
import type { OutputStream } from './io.ts';

export interface Progress {
  /** A status from the workflow; prints when something changed. */
  update(status: CellStatus): void;
  /** What is going on, in words; prints when it changed. */
  set(text: string): void;
  /** A line of our own (e.g. "interrupted"), kept apart from the updating line. */
  note(text: string): void;
  /** Stops updating; on a terminal the line is cleared for the summary that follows. */
  finish(): void;
}

export function createProgress(stream: OutputStream, startMs = Date.now(), now: () => number = Date.now): Progress {
  const tty = stream.isTTY === true;
  let last = '';
  let timer: ReturnType<typeof setInterval> | undefined;
  let finished = false;
  const stamp = () => `[${formatSeconds(now() - startMs)}]`;
  const render = () => {
    if (!last) return;
    // Kept within one row: a wrapped line would not be cleared by the next update.
    const line = `${stamp()} ${last}`;
    const width = stream.columns ?? 0;
    stream.write(`\r\x1b[2K${width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line}`);
  };
  if (tty) {
    timer = setInterval(render, 100);
    timer.unref?.();
  }
  const set = (text: string) => {
    if (finished || text === last) return;
    last = text;
    if (tty) render();
    else stream.write(`${stamp()} ${text}\n`);
  };
  return {
    update: (status) => set(describeStatus(status)),
    set,
    note(text) {
      if (tty && last && !finished) stream.write('\r\x1b[2K');
      stream.write(`${text}\n`);
      if (tty && !finished) render();
    },
    finish() {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      if (tty && last) stream.write('\r\x1b[2K');
    },
  };
}
