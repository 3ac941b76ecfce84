// What a command handler may touch of its process: streams, environment and signals. main.ts
// passes the real ones; a test may pass its own.
export interface OutputStream {
  /** Text, or bytes (`cellos artifacts -o -`); false: buffered past the stream's mark (a Node stream then emits 'drain'). */
  write(data: string | Uint8Array): unknown;
  readonly isTTY?: boolean | undefined;
  /** Width of the terminal, when it is one. */
  readonly columns?: number | undefined;
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: AsyncIterable<string | Uint8Array>;
  /** Data the command was asked for (the only place `--json` writes). */
  readonly stdout: OutputStream;
  /** Progress, notes, warnings and errors. */
  readonly stderr: OutputStream;
  /** Calls `handler` on each SIGINT/SIGTERM until the returned function is called. */
  onStopSignal(handler: (signal: StopSignal) => void): () => void;
}

/** Where the UI shows a workflow, for a UI at `uiBase` (e.g. http://localhost:8233). */
export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string, runId: string): string {
  const enc = encodeURIComponent;
  return `${uiBase.replace(/\/+$/, '')}/namespaces/${enc(namespace)}/workflows/${enc(workflowId)}/${enc(runId)}/history`;
}
