import { z } from 'zod';

/** Days a table keeps its rows (fractions allowed); 0 keeps them forever. */
const days = z.number().min(0).max(36_500);

/** The tables the rollup job reads. */
const ROLLUP_SOURCES = ['metricPoints', 'logs', 'spans', 'metricRollups1m'] as const;

/**
 * How long each table keeps its rows, and the rollups (see src/store/duckdb/rollups.ts and
 * retention.ts). Raw rows go first; the rollups that summarise them stay longer, coarser
 * ones longest, so a chart over a year reads hourly rows instead of raw points.
 */
export const retentionSchema = z
  .strictObject({
    days: z
      .strictObject({
        logs: days.default(7),
        spans: days.default(7),
        metricPoints: days.default(7),
        deadLetters: days.default(7),
        queryStats: days.default(14),
        querySamples: days.default(14),
        activitySamples: days.default(7),
        activitySnapshots: days.default(7),
        /** Browser events: a month of web vitals and errors to compare releases with. */
        rumEvents: days.default(30),
        metricRollups1m: days.default(30),
        metricRollups5m: days.default(90),
        metricRollups1h: days.default(400),
        logCounts1m: days.default(30),
        spanLatency1m: days.default(30),
      })
      .prefault({}),
    /** How often rows past their age are deleted. */
    intervalSeconds: z.number().positive().max(86_400).default(300),
    /** Most rows one delete statement removes, so a large backlog never holds the store for long. */
    batchRows: z.int().min(100).max(1_000_000).default(50_000),
    rollups: z
      .strictObject({
        /** How often the rollup tables are brought up to date. */
        intervalSeconds: z.number().positive().max(3600).default(60),
        /**
         * Every pass recomputes the buckets of this many past seconds from the raw rows, so points
         * that arrive this late (retries, buffering agents) are still in the rollups.
         */
        latenessSeconds: z.int().min(60).max(86_400).default(600),
      })
      .prefault({}),
  })
  .superRefine((retention, context) => {
    // Each pass re-reads the raw rows and the 1m rollups of its lateness window plus the hour
    // around it (counter increases, the hour bucket): deleting them sooner would empty buckets.
    const minDays = (retention.rollups.latenessSeconds + 3600) / 86_400;
    for (const key of ROLLUP_SOURCES) {
      const value = retention.days[key];
      if (value !== 0 && value < minDays)
        context.addIssue({
          code: 'custom',
          path: ['days', key],
          message:
            `must be 0 (keep forever) or at least ${minDays.toFixed(3)} days: the rollups are recomputed ` +
            'from the last rollups.latenessSeconds plus an hour of these rows',
        });
    }
  });

export type RetentionConfig = z.infer<typeof retentionSchema>;
export type RetainedTable = keyof RetentionConfig['days'];
