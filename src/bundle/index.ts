export * from './config.ts';
export * from './errors.ts';
export * from './ids.ts';
export type * from './oci.ts';
