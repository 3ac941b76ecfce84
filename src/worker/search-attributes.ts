// Whether the namespace has the cell search attributes, as admission tells cells whose caller did
// not say (any client but ours): asked of the server at most once a minute per worker, since an
// operator may register them while the worker runs.
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contract/index.ts';
import { missingCellSearchAttributes, searchAttributeCreateCommand } from '../client/search-attributes.ts';

const RECHECK_MS = 60_000;

/**
 * `onMissing` hears which are missing, once per change: without one of them (a namespace set up
 * before it was added) cells write none, and the UI and `cellos ps` filters find nothing.
 */
export function searchAttributesRegistered(
  client: Client,
  onMissing: (missing: readonly string[], fix: string) => void = () => undefined,
): () => Promise<boolean> {
  let last: { at: number; answer: Promise<boolean> } | undefined;
  let reported = '';
  return () => {
    if (!last || Date.now() - last.at > RECHECK_MS) {
      const answer = missingCellSearchAttributes(client).then((missing) => {
        const key = (missing ?? []).join(',');
        if (missing !== undefined && key !== reported) {
          reported = key;
          if (missing.length > 0)
            onMissing(
              missing,
              searchAttributeCreateCommand(
                `--namespace ${client.options.namespace}`,
                SEARCH_ATTRIBUTES.filter((a) => missing.includes(a.name)),
              ),
            );
        }
        return missing?.length === 0;
      });
      last = { at: Date.now(), answer };
    }
    return last.answer;
  };
}
