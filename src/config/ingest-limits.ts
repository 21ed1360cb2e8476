import { z } from 'zod';

/** Per-record limits the ingest gateway checks before publishing (see src/ingest/validate.ts). */
export const ingestLimitsSchema = z.strictObject({});
