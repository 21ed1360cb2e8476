import { z } from 'zod';
import { stageSchema } from './stage.js';

/** The `dedupe` stage's options (see src/process/stages/dedupe.ts). */
export const dedupeStageSchema = stageSchema('dedupe', {
  /** How long a stored record's id is remembered: a batch sent again within it is dropped before the store. */
  windowSeconds: z.number().positive().max(86_400).default(600),
  /** Most ids remembered per org; the oldest are forgotten first (the store still refuses a duplicate id). */
  maxIds: z.int().positive().max(10_000_000).default(200_000),
});
