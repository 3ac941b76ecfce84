// Waking a waiter when a file appears in a folder (inotify through fs.watch, on Node and Deno).
import { watch, type FSWatcher } from 'node:fs';

export interface DirWatch {
  /** Resolves when `name` changed since the last call, or after `timeoutMs`, or on abort. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

export function watchDir(dir: string, name: string): DirWatch {
  let pending = false;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, (_event, file) => {
      if (file !== null && String(file) !== name) return;
      pending = true;
      wake?.();
    });
    watcher.on('error', () => {
      pending = true;
      wake?.();
    });
  } catch {
    // The folder is gone or cannot be watched: the timeout does the waking.
  }
  return {
    next(timeoutMs, signal) {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          wake = undefined;
          pending = false;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal?.addEventListener('abort', done, { once: true });
        wake = done;
      });
    },
    close() {
      watcher?.close();
    },
  };
}
