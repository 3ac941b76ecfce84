// Exporting a cell's artifacts (spec.export.artifacts) once its workload has ended and before its
// sandbox is removed: each one is collected from the cell's scratch mount (collect.ts: the tree is
// hostile) and put into the host's artifact store. Done once per cell: the answer is recorded in the
// cell's folder, and a retry (a worker that crashed after it) reads it back. An artifact that cannot
// be exported is reported as refused with the reason; the cell's outcome never changes.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { collectArtifacts } from '../artifacts/collect.ts';
import type { ArtifactRecord, ArtifactStore, RefusedArtifact } from '../artifacts/store.ts';
import { cellFile, writeJsonAtomic } from './cell-files.ts';
import type { CellHandle, HostContext } from './context.ts';
import { scratchDirOf } from './scratch.ts';

export interface ExportedArtifacts {
  readonly artifacts: readonly ArtifactRecord[];
  readonly refused: readonly RefusedArtifact[];
}

const NONE: ExportedArtifacts = { artifacts: [], refused: [] };

/** The folder in a cell's folder where collected artifacts wait for the store. */
const OUT_DIR = 'export';

export async function exportArtifacts(
  ctx: HostContext,
  handle: CellHandle,
  store: ArtifactStore,
): Promise<ExportedArtifacts> {
  const wanted = handle.artifacts ?? [];
  if (wanted.length === 0) return NONE;
  const answerFile = join(handle.cellDir, cellFile.artifacts);
  const recorded = await readFile(answerFile, 'utf8').then(
    (text) => JSON.parse(text) as ExportedArtifacts,
    () => undefined,
  );
  if (recorded) return recorded;
  const outDir = join(handle.cellDir, OUT_DIR);
  const artifacts: ArtifactRecord[] = [];
  const refused: RefusedArtifact[] = [];
  try {
    const got = await collectArtifacts({
      artifacts: wanted.map((a) => ({
        name: a.name,
        path: a.path,
        mountRoot: scratchDirOf(handle.cellDir, a.scratch),
        relativePath: a.relativePath,
      })),
      outDir,
      limits: ctx.config.artifacts,
    });
    refused.push(...got.refused);
    for (const c of got.collected) {
      try {
        const location = await store.put({
          cellId: handle.cellId,
          runId: handle.runKey,
          name: c.name,
          kind: c.kind,
          bytes: c.bytes,
          sha256: c.sha256,
          file: c.file,
        });
        artifacts.push({ name: c.name, path: c.path, kind: c.kind, bytes: c.bytes, sha256: c.sha256, location });
      } catch (err) {
        refused.push({ name: c.name, path: c.path, reason: `not stored: ${messageOf(err)}` });
      }
    }
  } catch (err) {
    // The host could not read its own scratch folder (it is gone, an I/O error): nothing exported.
    for (const a of wanted) {
      if (!refused.some((r) => r.name === a.name)) {
        refused.push({ name: a.name, path: a.path, reason: `not collected: ${messageOf(err)}` });
      }
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
  // In the document's order, whatever happened to each.
  const order = new Map(wanted.map((a, i) => [a.name, i]));
  const byOrder = <T extends { name: string }>(list: T[]) =>
    list.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  const answer: ExportedArtifacts = { artifacts: byOrder(artifacts), refused: byOrder(refused) };
  await writeJsonAtomic(answerFile, answer);
  ctx.log('artifacts exported', {
    cellId: handle.cellId,
    sandboxId: handle.sandboxId,
    hostId: handle.hostId,
    phase: 'export',
    exported: answer.artifacts.length,
    refused: answer.refused.map((r) => `${r.name}: ${r.reason}`),
  });
  return answer;
}

/** What a cell that never ran its workload reports of its artifacts. */
export function notExported(handle: CellHandle, reason: string): ExportedArtifacts {
  return {
    artifacts: [],
    refused: (handle.artifacts ?? []).map((a) => ({ name: a.name, path: a.path, reason })),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
