export { RootfsError, type RootfsErrorReason, type RootfsField } from './errors.ts';
export { resolveRootfs, type ResolvedRootfs, type ResolveRootfsOptions, type RootfsSpec } from './resolve.ts';
