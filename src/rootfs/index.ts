export { RootfsError, type RootfsErrorReason, type RootfsField } from './errors.ts';
export { rootfsPathsInBundles } from './in-use.ts';
export { IMAGE_LIMIT_DEFAULTS, normalizeImageLimits, type ImageLimits } from './limits.ts';
export { resolveRootfs, type ResolvedRootfs, type ResolveRootfsOptions, type RootfsSpec } from './resolve.ts';
