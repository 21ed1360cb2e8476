import type { Migration } from './migrations.js';

/**
 * Usage per org, day and signal: records and bytes accepted. `day` is the UTC day the records
 * were stored on; `bytes` is the processor's estimate (process/stages/usage.ts ROW_BYTES), not
 * the size on disk. A flush adds to the row (usage-store.ts), so the key is the primary key.
 */
export const USAGE_MIGRATION: Migration = {
  version: 6,
  name: 'usage_daily',
  statements: [
    `CREATE TABLE usage_daily (
      org_id VARCHAR NOT NULL,
      day DATE NOT NULL,
      signal VARCHAR NOT NULL,
      records BIGINT NOT NULL,
      bytes BIGINT NOT NULL,
      updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
      PRIMARY KEY (org_id, day, signal)
    )`,
  ],
};
