// The cell workflow's contract as zod schemas: its input, its result, the status query's answer and
// the kill signal's payload. They describe what crosses the workflow boundary for any Temporal client
// (Python, Go, the CLI, the UI): `cellos schema` prints them as JSON Schema, and the committed copies
// in schemas/ are what a test compares them with. The TypeScript types in ./types.ts must match them:
// the checks at the end of this file fail the type check when one drifts from the other.
// Not part of ./index.ts: workflows import that, and zod stays out of the workflow bundle.
import { z } from 'zod';
import { CellDocument } from '../document/schema.ts';
import type { CellResult, CellStatus, CellWorkflowInput, KillSignalArgs, PhaseDurations } from './types.ts';
import type { ArtifactRecord, RefusedArtifact } from '../artifacts/store.ts';
import type { OutputTail } from '../cell/output.ts';
import type { CellResultOutcome } from '../cell/outcome.ts';

const isoTime = (what: string) => z.string().describe(`${what} (ISO 8601, UTC)`);
const signal = z.enum(['SIGTERM', 'SIGKILL']);

export const CellOutcomeSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('exited'), code: z.number().int().describe('the workload’s exit code') }),
    z.object({
      kind: z.literal('signaled'),
      signal: z.string().describe('e.g. SIGSEGV'),
      signalNumber: z.number().int(),
    }),
    z.object({ kind: z.literal('oom'), memoryMaxBytes: z.number().int().optional() }),
    z
      .object({
        kind: z.literal('deadline'),
        signal: signal.describe('the signal that ended it'),
        exitCode: z.number().int().optional().describe('its own exit code, when it trapped SIGTERM and exited'),
      })
      .describe('killed because spec.lifetime.ttlSeconds passed'),
    z
      .object({ kind: z.literal('killed'), reason: z.string(), signal })
      .describe('killed on request (the kill signal, a cancelled workflow), with the reason given'),
    z.object({ kind: z.literal('failed'), error: z.string() }).describe('runsc itself failed'),
    z.object({ kind: z.literal('lost'), reason: z.string() }).describe('the sandbox vanished without a record'),
    z.object({ kind: z.literal('cancelled'), reason: z.string() }).describe('cancelled before it started'),
    z
      .object({ kind: z.literal('host-lost'), reason: z.string() })
      .describe('its host did not take or finish its work in time'),
  ])
  .describe('How the cell ended');

export const OutputTailSchema = z.object({
  tail: z.string().describe('the last bytes captured, as text'),
  bytes: z.number().int().describe('bytes captured (at most the document’s cap)'),
  droppedBytes: z.number().int().describe('bytes written past the cap, dropped'),
});

export const ArtifactRecordSchema = z.object({
  name: z.string(),
  path: z.string().describe('inside the sandbox'),
  kind: z.enum(['file', 'directory']).describe('a directory is stored as a tar of it'),
  bytes: z.number().int(),
  sha256: z.string().describe('lowercase hex of the stored bytes'),
  location: z.string().describe('folder:<hostId>:<sha256> or s3://<bucket>/<key>'),
});

export const RefusedArtifactSchema = z.object({ name: z.string(), path: z.string(), reason: z.string() });

const ms = z.number().describe('milliseconds');
export const PhaseDurationsSchema = z
  .object({
    placing: ms.optional(),
    queued: ms.optional(),
    starting: ms.optional(),
    running: ms.optional(),
    killing: ms.optional(),
    cleanup: ms.optional(),
  })
  .describe('milliseconds spent in each phase');

export const CellResultSchema = z
  .object({
    cellId: z.string(),
    workflowId: z.string(),
    runId: z.string(),
    hostId: z.string().optional().describe('absent when no host took the cell'),
    sandboxId: z.string().optional(),
    outcome: CellOutcomeSchema,
    exitCode: z.number().int().optional().describe('the workload’s own exit code, when it has one'),
    stdout: OutputTailSchema,
    stderr: OutputTailSchema,
    startedAt: isoTime('the workflow’s start'),
    endedAt: isoTime('the workflow’s end'),
    sandboxStartedAt: isoTime('the sandbox’s start').optional(),
    sandboxEndedAt: isoTime('the sandbox’s end').optional(),
    warmSandbox: z.string().optional().describe('the warm sandbox it ran in, when it did'),
    phases: PhaseDurationsSchema,
    cleanupError: z.string().optional().describe('set when cleanup was incomplete (the reconciler finishes it)'),
    scheduleId: z.string().optional().describe('the schedule that started it'),
    artifacts: z.array(ArtifactRecordSchema).describe('spec.export.artifacts as stored, never their content'),
    refusedArtifacts: z.array(RefusedArtifactSchema).describe('artifacts not exported, with why'),
  })
  .describe('What cellWorkflow returns');

export const CellPhaseSchema = z.enum(['placing', 'queued', 'running', 'killing', 'cleaning-up', 'done']);

export const CellStatusSchema = z
  .object({
    cellId: z.string(),
    phase: CellPhaseSchema,
    hostId: z.string().optional(),
    sandboxId: z.string().optional(),
    sandboxStartedAt: isoTime('the sandbox’s start').optional(),
    outcome: CellOutcomeSchema.optional().describe('set once the cell has ended'),
    killRequested: z.string().optional().describe('the reason of a kill asked for'),
  })
  .describe('The answer of the status query');

export const KillSignalArgsSchema = z
  .object({ reason: z.string().describe('recorded in the outcome: {kind: "killed", reason}') })
  .describe('The payload of the kill signal');

export const CellWorkflowInputSchema = z
  .object({
    document: CellDocument.describe('the CellOS ExecutionCell document (see cell-document.schema.json)'),
    taskQueue: z
      .string()
      .min(1)
      .optional()
      .describe('the shared task queue host queues derive from; default: the workflow’s own'),
    scheduleId: z.string().optional(),
    hostScheduleToStartSeconds: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('how long a host may take to pick up its work; default: the worker’s setting'),
    indexed: z.boolean().optional().describe('whether the namespace has the cell search attributes; default: found'),
  })
  .describe('The input of cellWorkflow: {"document": ...} (the bare document is taken too)');

// --- the TypeScript types and the schemas describe the same shapes -------------------------------------
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Json<T> = T extends readonly (infer E)[]
  ? Json<E>[]
  : T extends object
    ? { -readonly [K in keyof T]: Json<T[K]> }
    : T;
const drift = <T extends true>(): T => true as T;
drift<Same<Json<z.output<typeof CellResultSchema>>, Json<CellResult>>>();
drift<Same<Json<z.output<typeof CellStatusSchema>>, Json<CellStatus>>>();
drift<Same<Json<z.output<typeof CellOutcomeSchema>>, Json<CellResultOutcome>>>();
drift<Same<Json<z.output<typeof OutputTailSchema>>, Json<OutputTail>>>();
drift<Same<Json<z.output<typeof ArtifactRecordSchema>>, Json<ArtifactRecord>>>();
drift<Same<Json<z.output<typeof RefusedArtifactSchema>>, Json<RefusedArtifact>>>();
drift<Same<Json<z.output<typeof PhaseDurationsSchema>>, Json<PhaseDurations>>>();
drift<Same<Json<z.output<typeof KillSignalArgsSchema>>, Json<KillSignalArgs>>>();
drift<
  Same<Json<Omit<z.input<typeof CellWorkflowInputSchema>, 'document'>>, Json<Omit<CellWorkflowInput, 'document'>>>
>();
