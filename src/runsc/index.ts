export * from './driver.ts';
export * from './errors.ts';
export * from './exec.ts';
export * from './platform.ts';
export * from './shell-quote.ts';
export * from './state-dir.ts';
export * from './child-env.ts';
