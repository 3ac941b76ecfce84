export * from './driver.ts';
export * from './errors.ts';
export * from './exec.ts';
export * from './platform.ts';
