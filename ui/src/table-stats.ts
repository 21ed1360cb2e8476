/**
 * Per-table and per-index statistics as the collectors store them (one gauge or counter per
 * relation, labelled with schema, table and index), joined into one row per relation.
 */

export interface LabelledValue {
  metric: Record<string, string>;
  value: number;
}

export interface RelationRow {
  /** The values of the key labels, in order (schema, table[, index]). */
  key: string[];
  values: Record<string, number>;
}

/**
 * One row per distinct combination of `keyLabels`; each column's value comes from its own query.
 * A relation missing from a column's answer has no value there (not zero: it was not measured).
 */
export function joinRelations(
  keyLabels: readonly string[],
  columns: ReadonlyArray<{ column: string; series: readonly LabelledValue[] }>,
): RelationRow[] {
  const rows = new Map<string, RelationRow>();
  for (const { column, series } of columns) {
    for (const { metric, value } of series) {
      const key = keyLabels.map((label) => metric[label] ?? '');
      const id = key.join('\u0000');
      const row = rows.get(id) ?? { key, values: {} };
      // Series that differ in other labels (MySQL's data and index size) add up.
      row.values[column] = (row.values[column] ?? 0) + value;
      rows.set(id, row);
    }
  }
  return [...rows.values()];
}

/** Largest first by one column; rows without it last, then by name. */
export function sortRelations(rows: readonly RelationRow[], column: string): RelationRow[] {
  return [...rows].sort((a, b) => {
    const x = a.values[column];
    const y = b.values[column];
    if (x !== undefined && y !== undefined && x !== y) return y - x;
    if (x === undefined && y !== undefined) return 1;
    if (y === undefined && x !== undefined) return -1;
    return a.key.join('.').localeCompare(b.key.join('.'));
  });
}
