// The S3 store of a configuration (CELLOS_ARTIFACTS_S3_*), with its own SDK client, and a close()
// that lets go of the client's sockets. Import it lazily (`await import(...)`): it loads the AWS SDK
// (~100 ms and ~23 MB), which nothing needs unless artifacts go to S3.
import { S3Client } from '@aws-sdk/client-s3';
import type { S3StoreConfig } from './s3-config.ts';
import { createS3Store } from './s3-store.ts';
import type { ArtifactStore } from './store.ts';

export interface OpenS3Store {
  readonly store: ArtifactStore;
  /** Closes the SDK client's connections; the store must not be used after. */
  close(): void;
}

export function openS3Store(config: S3StoreConfig): OpenS3Store {
  // Credentials: the SDK's default provider chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, a role).
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle,
  });
  const store = createS3Store({
    bucket: config.bucket,
    prefix: config.prefix,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    client,
  });
  return { store, close: () => client.destroy() };
}
