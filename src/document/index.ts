export * from './schema.ts';
export * from './errors.ts';
export * from './parse.ts';
export * from './limits.ts';
export * from './cell-id.ts';
export * from './bounds.ts';
