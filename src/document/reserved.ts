/** Paths the bundle itself mounts; documents may not replace them. */
export const RESERVED_MOUNT_POINTS = ['/proc', '/dev', '/sys'] as const;
