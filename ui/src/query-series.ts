/**
 * A statement's buckets as GET /api/v1/queries/:fingerprint/series answers them, as the columns
 * of the over-time charts (uPlot: x in epoch seconds, one array per series).
 */

export interface QueryBucket {
  timestamp: string;
  calls: number;
  totalTimeMs: number;
  /** Null for a bucket without calls: no mean to draw. */
  meanTimeMs: number | null;
  rows: number;
}

export interface QueryColumns {
  timesS: number[];
  calls: number[];
  meanTimeMs: Array<number | null>;
  rows: number[];
}

/** Oldest first, as the API lists them; a bucket with an unreadable time is left out. */
export function queryColumns(buckets: readonly QueryBucket[]): QueryColumns {
  const columns: QueryColumns = { timesS: [], calls: [], meanTimeMs: [], rows: [] };
  for (const bucket of buckets) {
    const timeS = Date.parse(bucket.timestamp) / 1000;
    if (!Number.isFinite(timeS)) continue;
    columns.timesS.push(timeS);
    columns.calls.push(bucket.calls);
    columns.meanTimeMs.push(bucket.meanTimeMs);
    columns.rows.push(bucket.rows);
  }
  return columns;
}
