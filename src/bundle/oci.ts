// The subset of the OCI runtime-spec 1.0.2 config that cells use.
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** A program runsc runs on the host at a point of the container's life (OCI `hooks`). */
export interface OciHook {
  /** Absolute host path of the program. */
  path: string;
  /** Its whole argument vector, argv[0] included. */
  args?: string[];
  env?: string[];
  /** Seconds before runsc gives up on it (and on the container). */
  timeout?: number;
}

export interface OciConfig {
  ociVersion: '1.0.2';
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: {
      bounding: string[];
      effective: string[];
      inheritable: string[];
      permitted: string[];
      ambient: string[];
    };
    rlimits: OciRlimit[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  hooks?: { prestart?: OciHook[] };
  linux: {
    cgroupsPath: string;
    resources: {
      devices?: { allow: boolean; access?: string }[];
      memory?: { limit: number };
      cpu?: { quota: number; period: number };
      pids?: { limit: number };
    };
    namespaces: { type: 'pid' | 'network' | 'ipc' | 'uts' | 'mount' }[];
    maskedPaths: string[];
    readonlyPaths: string[];
  };
  annotations: Record<string, string>;
}
