// Whether a namespace has every cell search attribute: a workflow that upserts an unregistered one
// fails its workflow tasks, so clients and admitting workers ask before cells write them.
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contract/index.ts';

type SearchAttribute = (typeof SEARCH_ATTRIBUTES)[number];

/** The cell search attributes the namespace lacks; undefined when the server cannot say. */
export function missingCellSearchAttributes(client: Client): Promise<string[] | undefined> {
  return client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace }).then(
    (res) => SEARCH_ATTRIBUTES.filter((a) => !(a.name in (res.customAttributes ?? {}))).map((a) => a.name),
    () => undefined,
  );
}

/** Asks the server; false when it cannot say (then none are written). */
export function hasCellSearchAttributes(client: Client): Promise<boolean> {
  return missingCellSearchAttributes(client).then((missing) => missing?.length === 0);
}

/** The Temporal CLI command that registers `attrs`; `target` names the namespace (and address). */
export function searchAttributeCreateCommand(target: string, attrs: readonly SearchAttribute[]): string {
  return `temporal operator search-attribute create ${target} ${attrs.map((a) => `--name ${a.name} --type ${a.type}`).join(' ')}`;
}
