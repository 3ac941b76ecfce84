// Whether the namespace has the cell search attributes, as admission tells cells whose caller did
// not say (any client but ours): asked of the server at most once a minute per worker, since an
// operator may register them while the worker runs.
import type { Client } from '@temporalio/client';
import { hasCellSearchAttributes } from '../client/search-attributes.ts';

const RECHECK_MS = 60_000;

export function searchAttributesRegistered(client: Client): () => Promise<boolean> {
  let last: { at: number; answer: Promise<boolean> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > RECHECK_MS) last = { at: Date.now(), answer: hasCellSearchAttributes(client) };
    return last.answer;
  };
}
