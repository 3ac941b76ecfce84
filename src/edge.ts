// The host edge without Temporal: run cells through runsc on this machine (Linux only;
// elsewhere createCellHost throws UnsupportedPlatformError).
export * from './host/index.ts';
export * from './runsc/index.ts';
export { resolveRootfs, RootfsError } from './rootfs/index.ts';
