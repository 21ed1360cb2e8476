import { niceStepSeconds } from './time-range.js';

/**
 * The database page's charts as PromQL over what the collectors store
 * (src/collect/postgres/metric-definitions.ts, src/collect/mysql/metric-definitions.ts; names
 * with `.` read as `_`, docs/metrics-query.md). Metrics a collector does not store have no chart.
 */

export type ChartUnit = 'count' | 'per-second' | 'ratio' | 'bytes-per-second' | 'seconds';

export interface ChartQuery {
  expr: string;
  /** The legend of each series of the answer, from its labels. */
  label: (metric: Record<string, string>) => string;
}

export interface DbChart {
  id: string;
  title: string;
  unit: ChartUnit;
  queries: ChartQuery[];
  /** Shown when the queries answer no series: why a healthy server can have none. */
  whenEmpty: string;
}

export interface ChartScope {
  /** The instance's entity kind: `postgresql.instance` or `mysql.instance`. */
  kind: string;
  instanceId: string;
  /** Set when a database of the instance is picked: per-database metrics are filtered by it. */
  database?: string;
  /** The rate window, e.g. `2m`. */
  window: string;
}

/** A PromQL string literal: backslashes and double quotes escaped. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `{a="x", b=~"y|z"}`: equality matchers, then regex ones. */
function selector(labels: Record<string, string>, regexes: Record<string, string> = {}): string {
  const matchers = [
    ...Object.entries(labels).map(([name, value]) => `${name}=${quoted(value)}`),
    ...Object.entries(regexes).map(([name, value]) => `${name}=~${quoted(value)}`),
  ];
  return `{${matchers.join(', ')}}`;
}

const fixed = (text: string) => (): string => text;
const byLabel =
  (name: string, prefix = '') =>
  (metric: Record<string, string>): string =>
    `${prefix}${metric[name] ?? '?'}`;

function postgresCharts(scope: ChartScope): DbChart[] {
  const instance = selector({ entity_id: scope.instanceId });
  // Per-database counters carry postgresql.database.name; cluster-wide ones do not.
  const perDb = selector({
    entity_id: scope.instanceId,
    ...(scope.database === undefined ? {} : { postgresql_database_name: scope.database }),
  });
  const w = scope.window;
  const hit = `sum(rate(postgresql_blks_hit${perDb}[${w}]))`;
  const read = `sum(rate(postgresql_blks_read${perDb}[${w}]))`;
  return [
    {
      id: 'connections',
      title: scope.database === undefined ? 'Connections by state' : `Connections to ${scope.database}`,
      unit: 'count',
      queries:
        scope.database === undefined
          ? [{ expr: `sum by (state) (postgresql_sessions${instance})`, label: byLabel('state') }]
          : [{ expr: `sum(postgresql_backends${perDb})`, label: fixed('connections') }],
      whenEmpty: 'No session counts stored in this range.',
    },
    {
      id: 'tps',
      title: 'Transactions per second',
      unit: 'per-second',
      queries: [
        { expr: `sum(rate(postgresql_commits${perDb}[${w}]))`, label: fixed('commits') },
        { expr: `sum(rate(postgresql_rollbacks${perDb}[${w}]))`, label: fixed('rollbacks') },
      ],
      whenEmpty: 'No transaction counters stored in this range (two points are needed for a rate).',
    },
    {
      id: 'cache-hit',
      title: 'Cache hit ratio (shared buffers)',
      unit: 'ratio',
      queries: [{ expr: `${hit} / (${hit} + ${read})`, label: fixed('hit ratio') }],
      whenEmpty: 'No block reads in this range: a ratio needs at least one block read or hit.',
    },
    {
      id: 'io',
      title: 'I/O (blocks per second)',
      unit: 'per-second',
      queries: [
        { expr: read, label: fixed('read by backends') },
        {
          expr: `sum by (source) (rate(postgresql_bgwriter_buffers_writes${instance}[${w}]))`,
          label: byLabel('source', 'written by '),
        },
      ],
      whenEmpty: 'No block counters stored in this range.',
    },
    {
      id: 'wal',
      title: 'WAL written (whole instance)',
      unit: 'bytes-per-second',
      queries: [{ expr: `rate(postgresql_wal_generated${instance}[${w}])`, label: fixed('WAL bytes') }],
      whenEmpty: 'No WAL position stored in this range (a replica writes no WAL of its own).',
    },
    {
      id: 'replication',
      title: 'Replication lag',
      unit: 'seconds',
      queries: [
        {
          expr: `max by (replication_client) (postgresql_wal_lag${selector({ entity_id: scope.instanceId, operation: 'replay' })})`,
          label: byLabel('replication_client', 'replay on '),
        },
        { expr: `max(postgresql_replication_replay_delay${instance})`, label: fixed('behind the primary') },
      ],
      whenEmpty: 'No replica reports lag: this server streams to no replica and is not one.',
    },
    {
      id: 'locks',
      title: 'Locks',
      unit: 'count',
      queries: [
        { expr: `sum by (mode) (postgresql_database_locks${instance})`, label: byLabel('mode') },
        { expr: `sum(postgresql_sessions_blocked${instance})`, label: fixed('blocked sessions') },
      ],
      whenEmpty: 'No lock counts stored in this range.',
    },
  ];
}

function mysqlCharts(scope: ChartScope): DbChart[] {
  const instance = selector({ entity_id: scope.instanceId });
  const w = scope.window;
  const bufferPool = (operation: string): string =>
    `sum(rate(mysql_buffer_pool_operations${selector({ entity_id: scope.instanceId, operation })}[${w}]))`;
  return [
    {
      id: 'connections',
      title: 'Connections (threads)',
      unit: 'count',
      queries: [
        {
          expr: `sum by (kind) (mysql_threads${selector({ entity_id: scope.instanceId }, { kind: 'connected|running' })})`,
          label: byLabel('kind'),
        },
      ],
      whenEmpty: 'No thread counts stored in this range.',
    },
    {
      id: 'tps',
      title: 'Transactions and statements per second',
      unit: 'per-second',
      queries: [
        {
          expr: `sum by (command) (rate(mysql_commands${selector({ entity_id: scope.instanceId }, { command: 'commit|rollback' })}[${w}]))`,
          label: byLabel('command'),
        },
        // Autocommit statements count no Com_commit: the statements a client sent show the load.
        { expr: `sum(rate(mysql_query_client_count${instance}[${w}]))`, label: fixed('statements') },
      ],
      whenEmpty: 'No command counters stored in this range.',
    },
    {
      id: 'cache-hit',
      title: 'Cache hit ratio (InnoDB buffer pool)',
      unit: 'ratio',
      queries: [
        { expr: `1 - ${bufferPool('reads')} / ${bufferPool('read_requests')}`, label: fixed('hit ratio') },
      ],
      whenEmpty: 'No buffer pool reads in this range.',
    },
    {
      id: 'io',
      title: 'I/O (InnoDB data)',
      unit: 'bytes-per-second',
      queries: [{ expr: `sum by (kind) (rate(mysql_data_io${instance}[${w}]))`, label: byLabel('kind') }],
      whenEmpty: 'No InnoDB I/O counters stored in this range.',
    },
    {
      id: 'wal',
      title: 'Redo log written',
      unit: 'bytes-per-second',
      queries: [{ expr: `rate(mysql_redo_log_written${instance}[${w}])`, label: fixed('redo bytes') }],
      whenEmpty: 'No redo log counter stored in this range.',
    },
    {
      id: 'replication',
      title: 'Replication lag',
      unit: 'seconds',
      queries: [
        { expr: `max(mysql_replica_time_behind_source${instance})`, label: fixed('behind the source') },
      ],
      whenEmpty: 'No replica lag stored: this server is not a replica.',
    },
    {
      id: 'locks',
      title: 'Lock waits',
      unit: 'count',
      queries: [
        { expr: `sum(mysql_row_lock_current_waits${instance})`, label: fixed('row lock waits') },
        { expr: `sum(mysql_sessions_blocked${instance})`, label: fixed('blocked sessions') },
      ],
      whenEmpty: 'No lock counts stored in this range.',
    },
  ];
}

export function databaseCharts(scope: ChartScope): DbChart[] {
  if (scope.kind.startsWith('postgresql.')) return postgresCharts(scope);
  if (scope.kind.startsWith('mysql.')) return mysqlCharts(scope);
  return [];
}

/**
 * The charts' step (about 120 points, at least 15 s) and rate window: two steps, at least a
 * minute, so a rate spans several collector intervals (15 s by default) and no point falls between windows.
 */
export function chartStep(rangeMs: number): { stepS: number; window: string } {
  const stepS = Math.max(niceStepSeconds(rangeMs, 120), 15);
  return { stepS, window: `${Math.max(stepS * 2, 60)}s` };
}
