// Whether the namespace has the cell search attributes, as admission tells cells whose caller did
// not say (any client but ours): asked of the server at most once a minute per worker, since an
// operator may register them while the worker runs.
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contract/index.ts';

const RECHECK_MS = 60_000;

export function searchAttributesRegistered(client: Client, namespace: string): () => Promise<boolean> {
  let last: { at: number; answer: Promise<boolean> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > RECHECK_MS) {
      last = {
        at: Date.now(),
        answer: client.connection.operatorService.listSearchAttributes({ namespace }).then(
          (res) => SEARCH_ATTRIBUTES.every((a) => a.name in (res.customAttributes ?? {})),
          // Not known now: none are written (a missing one would fail the cell's workflow tasks).
          () => false,
        ),
      };
    }
    return last.answer;
  };
}
