import { newId } from '../../core/ids.js';
import type { ApiKeyRecord, ControlStore, Org } from '../control-store.js';
import { orgId, type OrgId } from '../rows.js';
import type { DuckDBDatabase } from './database.js';

/** The control plane in the embedded DuckDB file (scale-out keeps it in PostgreSQL). */
export class DuckDBControlStore implements ControlStore {
  constructor(private readonly database: DuckDBDatabase) {}

  async listOrgs(): Promise<Org[]> {
    const rows = await this.query('SELECT id, name, created_at FROM orgs ORDER BY created_at, id', {});
    return rows.map(toOrg);
  }

  async createOrg(name: string): Promise<Org> {
    const id = newId('org');
    const rows = await this.query(
      `INSERT INTO orgs (id, name, created_at) VALUES ($id, $name, ${UTC_NOW}) RETURNING id, name, created_at`,
      {
        id,
        name,
      },
    );
    return toOrg(rows[0] ?? {});
  }

  async createApiKey(input: {
    orgId: OrgId;
    name: string;
    prefix: string;
    keyHash: string;
  }): Promise<ApiKeyRecord> {
    const rows = await this.query(
      `INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at)
       VALUES ($id, $orgId, $name, $prefix, $keyHash, ${UTC_NOW})
       RETURNING id, org_id, name, prefix, created_at, revoked_at`,
      { id: newId('key'), ...input },
    );
    return toApiKey(rows[0] ?? {});
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.query(
      'SELECT id, org_id, name, prefix, created_at, revoked_at FROM api_keys WHERE key_hash = $keyHash',
      { keyHash },
    );
    return rows[0] === undefined ? undefined : toApiKey(rows[0]);
  }

  private query(sql: string, params: Record<string, string>): Promise<Record<string, unknown>[]> {
    return this.database.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(sql, params);
      return reader.getRowObjectsJS();
    });
  }
}

function toOrg(row: Record<string, unknown>): Org {
  return { id: orgId(String(row.id)), name: String(row.name), createdAt: toDate(row.created_at) };
}

function toApiKey(row: Record<string, unknown>): ApiKeyRecord {
  return {
    id: String(row.id),
    orgId: orgId(String(row.org_id)),
    name: String(row.name),
    prefix: String(row.prefix),
    createdAt: toDate(row.created_at),
    revokedAt: row.revoked_at === null || row.revoked_at === undefined ? null : toDate(row.revoked_at),
  };
}

/**
 * The columns are TIMESTAMP (no zone) and read back as UTC; the column default
 * (`current_timestamp`) would store the machine's local time instead.
 */
const UTC_NOW = "(current_timestamp AT TIME ZONE 'UTC')";

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}
