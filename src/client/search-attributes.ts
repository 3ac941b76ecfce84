// Whether a namespace has every cell search attribute: a workflow that upserts an unregistered one
// fails its workflow tasks, so clients and admitting workers ask before cells write them.
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contract/index.ts';

/** Asks the server; false when it cannot say (then none are written). */
export function hasCellSearchAttributes(client: Client): Promise<boolean> {
  return client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace }).then(
    (res) => SEARCH_ATTRIBUTES.every((a) => a.name in (res.customAttributes ?? {})),
    () => false,
  );
}
