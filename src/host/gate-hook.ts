// The gate of a cold cell: a prestart hook in its bundle that holds `runsc run` after the sandbox
// has booted and before the cell's process starts, until the cell's supervisor writes "go" (or
// "stop") into the fifo pipes/gate. The sandbox can then boot while the run activity is on its way
// (the claim launches it), and what is left after the start is ~20 ms instead of a whole boot:
// runsc runs prestart hooks at the end of creating the container, with the sandbox up. The cell's
// process never runs before its start, so a claim that no run follows runs nothing.
//
// The hook opens the fifo for reading; the supervisor holds it open read-write from before it
// starts runsc run, so the open never blocks and a supervisor that dies gives the hook an end of
// file: it exits 1, and runsc run removes the sandbox it made. Anything but "go" fails the hook.
// It runs on the host as root, like runsc: its program is this constant, its one parameter a path
// the host chose; nothing in it comes from the document.
import type { OciHook } from '../bundle/oci.ts';

const GATE_SCRIPT = 'read -r word < "$1" && [ "$word" = go ]';
/** The marker in the hook's argument vector: how a look at /proc tells it apart. */
export const GATE_HOOK_MARKER = 'cellos-gate';

/** The prestart hook of a gated cold cell whose fifo is `gatePipe`. No timeout: the start may come late. */
export function gateHook(gatePipe: string): OciHook {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', GATE_SCRIPT, GATE_HOOK_MARKER, gatePipe],
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
  };
}

/** Whether a bundle's hook is the gate (the bench's raw baseline takes it out of a host's bundle). */
export function isGateHook(hook: OciHook): boolean {
  return hook.args?.[3] === GATE_HOOK_MARKER;
}
