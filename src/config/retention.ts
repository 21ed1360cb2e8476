import { z } from 'zod';

/** How long each table keeps its rows, and the rollups (see src/store/duckdb/rollups.ts). */
export const retentionSchema = z.strictObject({});
