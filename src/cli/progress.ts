// Phases of a cell as they happen, on stderr: on a terminal one line that updates with the elapsed
// time, otherwise a plain line per change (`[0.21s] running on host H (sandbox S)`).
import type { CellStatus } from '../shared.ts';
import { describeStatus, formatSeconds } from './format.ts';
import type { OutputStream } from './io.ts';

export interface Progress {
  /** A status from the workflow; prints when something changed. */
  update(status: CellStatus): void;
  /** A line of our own (e.g. "interrupted"), kept apart from the updating line. */
  note(text: string): void;
  /** Stops updating; on a terminal the line is cleared for the summary that follows. */
  finish(): void;
}

export function createProgress(stream: OutputStream, startMs = Date.now(), now: () => number = Date.now): Progress {
  const tty = stream.isTTY === true;
  let last = '';
  let timer: ReturnType<typeof setInterval> | undefined;
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
  return {
    update(status) {
      const text = describeStatus(status);
      if (text === last) return;
      last = text;
      if (tty) render();
      else stream.write(`${stamp()} ${text}\n`);
    },
    note(text) {
      if (tty && last) stream.write('\r\x1b[2K');
      stream.write(`${text}\n`);
      if (tty) render();
    },
    finish() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (tty && last) stream.write('\r\x1b[2K');
    },
  };
}
