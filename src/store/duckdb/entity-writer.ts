import { BIGINT, type DuckDBConnection } from '@duckdb/node-api';
import type { EntityRow } from '../rows.js';
import type { WriteResult } from '../store.js';
import type { DuckDBDatabase } from './database.js';

/**
 * Merges an entity into what is known of it: the earliest first sighting, the latest last
 * sighting, and the description (kind, name, parent, version, attributes) of the newest
 * record, so a replayed old record never overwrites a newer one.
 */
const UPSERT = `INSERT INTO entities (org_id, id, kind, name, parent_id, version, attributes, first_seen, last_seen)
  VALUES ($org, $id, $kind, $name, $parent, $version, $attributes, $first, $last)
  ON CONFLICT (org_id, id) DO UPDATE SET
    kind = CASE WHEN excluded.last_seen >= entities.last_seen THEN excluded.kind ELSE entities.kind END,
    name = CASE WHEN excluded.last_seen >= entities.last_seen THEN excluded.name ELSE entities.name END,
    parent_id = CASE WHEN excluded.last_seen >= entities.last_seen THEN excluded.parent_id ELSE entities.parent_id END,
    version = CASE WHEN excluded.last_seen >= entities.last_seen THEN excluded.version ELSE entities.version END,
    attributes = CASE WHEN excluded.last_seen >= entities.last_seen THEN excluded.attributes ELSE entities.attributes END,
    first_seen = least(entities.first_seen, excluded.first_seen),
    last_seen = greatest(entities.last_seen, excluded.last_seen)`;

/** Upserts batches of entities, one transaction per batch, one batch at a time. */
export class EntityWriter {
  private connection: DuckDBConnection | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly database: DuckDBDatabase) {}

  async open(): Promise<void> {
    this.connection = await this.database.connect();
  }

  upsert(rows: readonly EntityRow[]): Promise<WriteResult> {
    const result = this.queue.then(() => this.upsertNow(rows));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async upsertNow(rows: readonly EntityRow[]): Promise<WriteResult> {
    const connection = this.connection;
    if (connection === undefined) throw new Error('writer for entities is not open');
    const merged = mergeEntities(rows);
    if (merged.length === 0) return { inserted: 0, duplicates: 0 };
    let inserted = 0;
    await connection.run('BEGIN TRANSACTION');
    try {
      for (const row of merged) {
        const known = await connection.runAndReadAll(
          'SELECT count(*) AS n FROM entities WHERE org_id = $org AND id = $id',
          { org: row.orgId, id: row.id },
        );
        if (Number(known.getRowObjectsJS()[0]?.n ?? 0) === 0) inserted++;
        await connection.run(
          UPSERT,
          {
            org: row.orgId,
            id: row.id,
            kind: row.kind,
            name: row.name,
            parent: row.parentId,
            version: row.version,
            attributes: row.attributes,
            first: row.firstSeen,
            last: row.lastSeen,
          },
          { first: BIGINT, last: BIGINT },
        );
      }
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return { inserted, duplicates: rows.length - inserted };
  }
}

/**
 * One row per entity of the batch, merged as the table merges them: DuckDB refuses to
 * update the same row twice in one statement, and fewer statements are faster anyway.
 */
function mergeEntities(rows: readonly EntityRow[]): EntityRow[] {
  const byKey = new Map<string, EntityRow>();
  for (const row of rows) {
    const key = `${row.orgId}\u0000${row.id}`;
    const seen = byKey.get(key);
    if (seen === undefined) {
      byKey.set(key, row);
      continue;
    }
    const newer = row.lastSeen >= seen.lastSeen ? row : seen;
    byKey.set(key, {
      ...newer,
      firstSeen: row.firstSeen < seen.firstSeen ? row.firstSeen : seen.firstSeen,
      lastSeen: newer.lastSeen,
    });
  }
  return [...byKey.values()];
}
