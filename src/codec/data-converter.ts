// The data converter of every client and worker of one deployment: with payload keys, payloads are
// encrypted, and so are failure messages and stack traces (which can quote a document): they move
// into the encoded attributes (failure-converter.cjs). Without keys: the SDK's default.
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { sourceAsset } from '../source-asset.ts';
import { AesGcmPayloadCodec } from './aes-gcm.ts';
import type { PayloadKeyring } from './keys.ts';

/** The module the worker loads, and bundles into the workflow code, for failures. */
export const ENCRYPTED_FAILURE_CONVERTER_PATH = fileURLToPath(sourceAsset(import.meta.url, 'failure-converter.cjs'));

export function cellosDataConverter(keys: PayloadKeyring | undefined): DataConverter | undefined {
  if (keys === undefined) return undefined;
  return {
    payloadCodecs: [new AesGcmPayloadCodec(keys)],
    failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
  };
}
