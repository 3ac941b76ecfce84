// The pure core: documents, bundles, outcomes and shared names. Loads on any system and
// pulls in neither execa nor Temporal's native bridge.
export * from './document/index.ts';
export * from './bundle/index.ts';
export * from './cell/outcome.ts';
export * from './cell/output.ts';
export * from './contract/index.ts';
export * from './config-error.ts';
