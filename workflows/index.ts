export { cellWorkflow, killSignal, statusQuery } from './cell.ts';
