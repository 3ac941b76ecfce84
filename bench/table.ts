// A plain text table: the first column left-aligned, the others right-aligned, a rule under the
// header. Pure.

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    widths
      .map((w, i) => (i === 0 ? (cells[i] ?? '').padEnd(w) : (cells[i] ?? '').padStart(w)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A figure with `digits` decimals, or "–" when there is none. */
export function fixed(x: number | undefined, digits = 0): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

export function mib(bytes: number | undefined, digits = 1): string {
  return bytes === undefined ? '–' : `${(bytes / 2 ** 20).toFixed(digits)} MiB`;
}
