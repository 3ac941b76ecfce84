export * from './keys.ts';
export * from './aes-gcm.ts';
export * from './server.ts';
export * from './data-converter.ts';
export * from './blind-index.ts';
