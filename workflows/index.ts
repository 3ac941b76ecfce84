export { cellWorkflow, killSignal, statusQuery } from './cell.ts';
export { hostsWorkflow } from './hosts.ts';
