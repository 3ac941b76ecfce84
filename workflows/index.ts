export { cellWorkflow, killSignal, statusQuery } from './cell.ts';
export { cellEventsWorkflow } from './cell-events.ts';
export { hostsWorkflow } from './hosts.ts';
export { artifactChunkWorkflow } from './artifacts.ts';
