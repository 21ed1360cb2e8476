import { z } from 'zod';
import { stageSchema } from './stage.js';

/** The `limit` stage's options (see src/process/stages/limit.ts). */
export const limitStageSchema = stageSchema('limit', {
  /**
   * Distinct metric series an org may have active at once; 0 for no limit. Points of a new series
   * beyond it are dropped (reason `series_limit`); series already admitted keep flowing.
   */
  maxSeries: z.int().min(0).max(100_000_000).default(100_000),
  /** A series without a point for this long stops counting against maxSeries. */
  seriesIdleSeconds: z.number().positive().max(2_592_000).default(86_400),
  /**
   * Bytes (estimated from the records' text, all signals together) an org may store per UTC day;
   * 0 for no limit. Beyond it records are dropped (reason `bytes_limit`) until midnight UTC.
   */
  maxBytesPerDay: z
    .int()
    .min(0)
    .default(10 * 1024 ** 3),
});
