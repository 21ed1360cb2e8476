import type { Migration } from './migrations.js';

/** Usage per org, day and signal: records and bytes accepted. */
export const USAGE_MIGRATION: Migration = {
  version: 6,
  name: 'usage_daily',
  statements: [],
};
