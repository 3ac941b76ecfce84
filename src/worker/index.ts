export * from './cell-worker.ts';
export * from './cell-run-state.ts';
export * from './config.ts';
export * from './connection.ts';
export * from './log-format.ts';
export * from './metrics.ts';
export {
  loadWorkflowBundle,
  workflowsPath,
  writePrebuiltBundles,
  type WorkflowBundleOptions,
} from './workflow-bundle.ts';
export * from './memory-settings.ts';
