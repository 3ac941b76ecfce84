// Host labels and what a cell asks of them (spec.placement.labels): a cell runs only on a host that
// has every label it asks for, with the same value. Pure: the document schema, the worker, the
// admission step and the CLI share these rules.

/** A label's name: lower-case, like Kubernetes label names without a prefix. */
export const LABEL_NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,30}[a-z0-9])?$/;
/** A label's value: may be empty; no `,` `=` or spaces, so a list of labels stays one word. */
export const LABEL_VALUE_PATTERN = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

/**
 * The most labels a host advertises: it polls one launch queue per subset of its labels, so that a
 * cell asking for any of them finds it (2^4 = 16 queues).
 */
export const MAX_HOST_LABELS = 4;
/** The most labels a document asks for (a cell asking for more than a host has cannot run anyway). */
export const MAX_CELL_LABELS = MAX_HOST_LABELS;

export type Labels = Readonly<Record<string, string>>;

/** `name=value` pairs, sorted by name, comma-separated: one spelling for one set of labels. */
export function formatLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export class LabelSyntaxError extends Error {
  override readonly name = 'LabelSyntaxError';
}

/** Parses `zone=a,gpu=none` (as CELLOS_HOST_LABELS gives it); throws LabelSyntaxError naming the bad part. */
export function parseLabels(text: string): Labels {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new LabelSyntaxError(`label ${JSON.stringify(part)} must be name=value`);
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    const problem = labelProblem(name, value);
    if (problem) throw new LabelSyntaxError(problem);
    if (Object.hasOwn(labels, name)) throw new LabelSyntaxError(`label ${name} is given twice`);
    labels[name] = value;
  }
  return labels;
}

/** What is wrong with one label, or undefined. */
export function labelProblem(name: string, value: string): string | undefined {
  if (!LABEL_NAME_PATTERN.test(name)) {
    return `label name ${JSON.stringify(name)} must be 1-32 characters of a-z 0-9 . _ -, starting and ending with a letter or digit`;
  }
  if (!LABEL_VALUE_PATTERN.test(value)) {
    return `label ${name}'s value ${JSON.stringify(value)} must be at most 63 characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Whether a host with `host` labels can run a cell asking for `wanted`. */
export function satisfies(host: Labels, wanted: Labels): boolean {
  return Object.entries(wanted).every(([k, v]) => Object.hasOwn(host, k) && host[k] === v);
}

/** Every subset of a host's labels, the empty one first: the launch queues the host polls. */
export function labelSubsets(labels: Labels): Labels[] {
  const names = Object.keys(labels).sort();
  const subsets: Labels[] = [];
  for (let mask = 0; mask < 1 << names.length; mask++) {
    const subset: Record<string, string> = {};
    names.forEach((n, i) => {
      if (mask & (1 << i)) subset[n] = labels[n]!;
    });
    subsets.push(subset);
  }
  return subsets;
}
