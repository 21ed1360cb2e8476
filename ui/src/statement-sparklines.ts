import { useEffect, useState } from 'react';
import { api } from './api.js';

/** Rows of the top statements that get a sparkline: the first rows as sorted, which people read. */
export const SPARKLINE_ROWS = 25;
/** Series requests in flight at once, so the sparklines do not crowd out the page's charts. */
const IN_FLIGHT = 3;
const BUCKETS = 24;

export type SparklinePoints = ReadonlyArray<readonly [number, number]>;

/**
 * Total time per bucket of each statement (GET /api/v1/queries/:fingerprint/series), read a few
 * at a time once the table is drawn; a statement whose read failed has no line.
 */
export function useStatementSparklines(
  fingerprints: readonly string[],
  entity: string,
  from: number,
  to: number,
): ReadonlyMap<string, SparklinePoints> {
  const [lines, setLines] = useState<ReadonlyMap<string, SparklinePoints>>(new Map());
  const key = fingerprints.join('\n');
  useEffect(() => {
    const controller = new AbortController();
    const wanted = key === '' ? [] : key.split('\n');
    const step = `${Math.max(60, Math.round((to - from) / 1000 / BUCKETS))}s`;
    let next = 0;
    const read = async (): Promise<void> => {
      while (next < wanted.length && !controller.signal.aborted) {
        const fingerprint = wanted[next++] as string;
        const params = new URLSearchParams({ from: String(from), to: String(to), step });
        if (entity !== '') params.set('entity', entity);
        try {
          const answer = await api<{ data: Array<{ timestamp: string; totalTimeMs: number }> }>(
            `/api/v1/queries/${encodeURIComponent(fingerprint)}/series?${params.toString()}`,
            { signal: controller.signal },
          );
          const points = answer.data.map((b) => [Date.parse(b.timestamp) / 1000, b.totalTimeMs] as const);
          setLines((current) => new Map(current).set(fingerprint, points));
        } catch {
          // No line for this row; its figures are in the table.
        }
      }
    };
    setLines(new Map());
    void Promise.all(Array.from({ length: IN_FLIGHT }, read));
    return () => controller.abort();
  }, [key, entity, from, to]);
  return lines;
}
