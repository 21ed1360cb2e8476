import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricBatch } from '../../src/collect/metric-batch.js';
import { MYSQL_METRIC_FAMILIES } from '../../src/collect/mysql/metric-queries.js';
import { MysqlSession } from '../../src/collect/mysql/session.js';
import { mysqlSetupSql } from '../../src/collect/mysql/setup-sql.js';
import { resolveMysqlTarget } from '../../src/collect/mysql/target.js';
import { mysqlTargetSchema } from '../../src/config/schema.js';
import { encodeRequest } from '../../src/otlp/codec.js';
import { metricPointsOf } from '../helpers/metric-points.js';
import {
  MARIADB_INSTALL_HINT,
  mariadbAvailable,
  startMariadb,
  type MariadbInstance,
} from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

describe.skipIf(!available)('sightline setup-sql mysql on a real MariaDB', () => {
  let server: MariadbInstance;
  const script = mysqlSetupSql({
    user: "mon'itor",
    password: "pa'ss\\word",
    from: '127.0.0.1',
    explainSchemas: [],
    slowLog: true,
  });

  beforeAll(async () => {
    server = await startMariadb();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('runs twice through the mariadb client without an error', async () => {
    await server.cli(script);
    const output = await server.cli(script);
    expect(output).toContain('PROCESS');
  });

  it('grants what the collector reads and nothing that writes', async () => {
    const grants = (await server.sql("SHOW GRANTS FOR 'mon\\'itor'@'127.0.0.1'")).map((r) =>
      String(Object.values(r)[0]),
    );
    expect(grants.join('\n')).toMatch(/GRANT PROCESS, SHOW DATABASES, (SLAVE|REPLICA) MONITOR ON \*\.\*/);
    expect(grants.join('\n')).toMatch(/GRANT SELECT ON `mysql`\.`innodb_table_stats`/);
    expect(grants.join('\n')).toMatch(/GRANT SELECT ON `performance_schema`\.\*/);
    expect(grants.join('\n')).not.toMatch(/INSERT|UPDATE|DELETE|CREATE|DROP|ALL PRIVILEGES|SUPER/);
    const monitor = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: "mon'itor",
      password: "pa'ss\\word",
    });
    try {
      const [status] = await monitor.query('SHOW ALL SLAVES STATUS');
      expect(status).toEqual([]);
      const [processes] = await monitor.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST');
      expect(Number((processes as { n: string }[])[0]?.n)).toBeGreaterThan(0);
      await expect(monitor.query('CREATE DATABASE nope')).rejects.toThrow(/denied/i);
    } finally {
      await monitor.end();
    }
  });

  it('sees every schema and the sizes of tables it may not read', async () => {
    await server.sql(`CREATE DATABASE private_app;
      CREATE TABLE private_app.secrets (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;
      INSERT INTO private_app.secrets SELECT seq, REPEAT('x', 100) FROM private_app.seq_1_to_5000;
      ANALYZE TABLE private_app.secrets;`);
    const target = resolveMysqlTarget(
      mysqlTargetSchema.parse({
        url: `mysql://${encodeURIComponent("mon'itor")}:${encodeURIComponent("pa'ss\\word")}@${server.host}:${server.port}/`,
      }),
    );
    const session = new MysqlSession(target);
    try {
      const schemas = await session.query('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA');
      expect(schemas.map((r) => r.name)).toContain('private_app');
      await expect(session.query('SELECT * FROM private_app.secrets LIMIT 1')).rejects.toThrow(/denied/i);
      const info = await session.serverInfo();
      const batch = new MetricBatch(1n, 1n);
      const tables = MYSQL_METRIC_FAMILIES.find((f) => f.name === 'tables');
      await tables?.collect({ session, server: info, batch, topTables: 10 });
      const request = batch.toRequest({}, 'test', '0');
      const points = metricPointsOf([encodeRequest({ signal: 'metrics', message: request })]);
      const size = points
        .get('mysql.table.size')
        ?.find((p) => p.attributes['mysql.table.name'] === 'secrets' && p.attributes.kind === 'data');
      expect(size?.value).toBeGreaterThan(100_000);
    } finally {
      await session.close();
    }
  });

  it('switches on the statement history and the slow log', async () => {
    const consumers = await server.sql(
      "SELECT NAME, ENABLED FROM performance_schema.setup_consumers WHERE NAME IN ('events_statements_current', 'events_statements_history_long')",
    );
    expect(consumers.map((c) => c.ENABLED)).toEqual(['YES', 'YES']);
    const [settings] = await server.sql(
      'SELECT @@GLOBAL.slow_query_log AS slow, @@GLOBAL.long_query_time AS t',
    );
    expect(settings).toMatchObject({ slow: '1' });
    expect(Number(settings?.t)).toBeLessThanOrEqual(1);
  });
});
