import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBControlStore } from '../../src/store/duckdb/control-store.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { MIGRATIONS, runMigrations } from '../../src/store/duckdb/migrations.js';
import { orgId } from '../../src/store/rows.js';
import { describeControlStoreContract, type ControlStoreFixture } from '../helpers/control-store-contract.js';

let dir: string;
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-control-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function openDatabase(path: string): Promise<DuckDBDatabase> {
  const database = await DuckDBDatabase.open(
    { path, memoryLimit: '256MB', checkpointThreshold: '16MB', threads: 1 },
    silentLogger(),
  );
  await database.migrate();
  return database;
}

describeControlStoreContract('DuckDB (embedded)', async (): Promise<ControlStoreFixture> => {
  const path = join(dir, `control-${++files}.duckdb`);
  let database = await openDatabase(path);
  const fixture: ControlStoreFixture = {
    store: new DuckDBControlStore(database),
    revoke: (keyHash) =>
      database.withConnection(async (connection) => {
        await connection.run('UPDATE api_keys SET revoked_at = current_timestamp WHERE key_hash = $keyHash', {
          keyHash,
        });
      }),
    reopen: async () => {
      await database.close();
      database = await openDatabase(path);
      fixture.store = new DuckDBControlStore(database);
    },
    close: async () => {
      await database.close();
      rmSync(path, { force: true });
      rmSync(`${path}.wal`, { force: true });
    },
  };
  return fixture;
});

describe('DuckDB control plane from before roles', () => {
  it('gives the existing keys admin, and the bootstrap keys owner', async () => {
    const path = join(dir, `control-${++files}.duckdb`);
    const old = await DuckDBDatabase.open(
      { path, memoryLimit: '256MB', checkpointThreshold: '16MB', threads: 1 },
      silentLogger(),
    );
    await old.withConnection(async (connection) => {
      await runMigrations(
        connection,
        MIGRATIONS.filter((m) => m.version < 8),
      );
      await connection.run(`INSERT INTO orgs (id, name) VALUES ('org_1', 'default')`);
      for (const [id, name] of [
        ['k1', 'bootstrap'],
        ['k2', 'first key'],
        ['k3', 'ci'],
      ]) {
        await connection.run(
          `INSERT INTO api_keys (id, org_id, name, prefix, key_hash) VALUES ($id, 'org_1', $name, 'sl_x', $id)`,
          { id: id ?? '', name: name ?? '' },
        );
      }
    });
    await old.close();
    const database = await openDatabase(path);
    try {
      const keys = await new DuckDBControlStore(database).listApiKeys(orgId('org_1'));
      expect(keys.map((k) => [k.name, k.role])).toEqual([
        ['bootstrap', 'owner'],
        ['first key', 'owner'],
        ['ci', 'admin'],
      ]);
    } finally {
      await database.close();
    }
  });
});

/**
 * A process that applied the control-plane migration and was killed before DuckDB checkpointed
 * leaves it in the WAL; the next start must replay it. (An ALTER TABLE of api_keys could not be
 * replayed by DuckDB 1.5, which made the data dir unopenable: control-schema.ts.)
 */
const CRASH_AFTER_MIGRATING = `
import { DuckDBInstance } from '@duckdb/node-api';
const { path, before, after } = JSON.parse(process.env.MIGRATION_TEST);
const instance = await DuckDBInstance.create(path);
const connection = await instance.connect();
await connection.run('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)');
const apply = async (migration) => {
  await connection.run('BEGIN TRANSACTION');
  for (const statement of migration.statements) await connection.run(statement);
  await connection.run('INSERT INTO schema_migrations (version, name) VALUES ($v, $n)', { v: migration.version, n: migration.name });
  await connection.run('COMMIT');
};
for (const migration of before) await apply(migration);
await connection.run("INSERT INTO orgs (id, name) VALUES ('org_1', 'default')");
await connection.run("INSERT INTO api_keys (id, org_id, name, prefix, key_hash) VALUES ('k1', 'org_1', 'bootstrap', 'sl_x', 'h1')");
await connection.run('CHECKPOINT');
for (const migration of after) await apply(migration);
process.exit(0);
`;

describe('DuckDB control-plane migration and a crash', () => {
  it('opens again after a process was killed between the migration and a checkpoint', async () => {
    const path = join(dir, `control-${++files}.duckdb`);
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', CRASH_AFTER_MIGRATING], {
      cwd: resolve(import.meta.dirname, '../..'),
      env: {
        ...process.env,
        MIGRATION_TEST: JSON.stringify({
          path,
          before: MIGRATIONS.filter((m) => m.version < 8),
          after: MIGRATIONS.filter((m) => m.version >= 8),
        }),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const database = await openDatabase(path);
    try {
      const keys = await new DuckDBControlStore(database).listApiKeys(orgId('org_1'));
      expect(keys.map((k) => [k.id, k.role])).toEqual([['k1', 'owner']]);
    } finally {
      await database.close();
    }
  });
});
