import type { QuerySampleRecord, QueryStatsRecord } from '../../bus/raw-records.js';
import { msToNs } from '../../core/time.js';
import {
  DigestDeltaTracker,
  digestKey,
  psToMs,
  type DigestCounters,
  type DigestDelta,
} from './digest-deltas.js';
import { PROGRAM_NAME, big, text, type MysqlServerInfo, type MysqlSession } from './session.js';
import { mysqlShape, type MysqlShape } from '../../sql/mysql-shape.js';
import type { MysqlTarget } from './target.js';

const DIGESTS = 'performance_schema.events_statements_summary_by_digest';
/** Texts asked for per statement: an IN list this long stays far below max_allowed_packet. */
const TEXT_BATCH = 500;
/** performance_schema_max_sql_text_length's default: a sample this long may be cut off. */
const SQL_TEXT_LIMIT = 1024;

export interface StatementCycle {
  records: QueryStatsRecord[];
  samples: QuerySampleRecord[];
  /** Statements the server could not give a digest (its digest table is full) since the last cycle. */
  undigested: number;
  /** Moves the baseline: call once the records are handed on. */
  accept: () => void;
}

/** Where a sample's EXPLAIN failed, for the collector to report once. */
export type ExplainFailure = (error: unknown) => void;

/**
 * Query analytics for one MySQL or MariaDB target: reads the statement digest summary, turns it
 * into per-interval deltas per (schema, digest) and shapes them into `raw-queries` records.
 * After the first full read only the rows seen since the previous cycle are read, and texts only
 * for digests not seen before. When the statement history is on, the slowest execution of each
 * digest in the interval becomes a sample (literals removed), EXPLAINed when configured.
 */
export class MysqlStatementCollector {
  private readonly tracker: DigestDeltaTracker;
  private readonly shapes = new Map<string, MysqlShape>();
  private lastAtNs: bigint | undefined;
  private undigestedCalls: bigint | undefined;
  /** TIMER_END (picoseconds since the server started) of the newest history row already sampled. */
  private sampledUpTo = 0n;

  constructor(private readonly target: MysqlTarget) {
    this.tracker = new DigestDeltaTracker(target.maxDigests);
  }

  async collect(
    session: MysqlSession,
    server: MysqlServerInfo,
    nowNs: bigint,
    explainFailed: ExplainFailure,
  ): Promise<StatementCycle> {
    const epoch = server.startedAt.toISOString();
    const restarted = this.tracker.epochOfBaseline !== epoch;
    if (restarted) this.sampledUpTo = 0n;
    const since = restarted ? undefined : this.tracker.seenSince;
    const { rows, undigestedCalls } = await this.read(session, since);
    await this.learnTexts(session, rows);
    const { deltas, accept } = this.tracker.preview({ epoch, rows, partial: since !== undefined });
    const startNs = this.lastAtNs ?? nowNs;
    const records = deltas.map((delta) => this.toRecord(delta, startNs, nowNs));
    // Also on the baseline cycle: it moves past the history written before the collector started.
    const samples = await this.sample(session, server, deltas, nowNs, explainFailed);
    const undigested =
      undigestedCalls === undefined || this.undigestedCalls === undefined || restarted
        ? 0
        : Math.max(0, Number(undigestedCalls - this.undigestedCalls));
    return {
      records,
      samples,
      undigested,
      accept: () => {
        accept();
        this.lastAtNs = nowNs;
        this.undigestedCalls = undigestedCalls;
        this.forgetShapes();
      },
    };
  }

  private async read(
    session: MysqlSession,
    since: string | undefined,
  ): Promise<{ rows: DigestCounters[]; undigestedCalls: bigint | undefined }> {
    const result = await session.query(
      `SELECT SCHEMA_NAME AS schema_name, DIGEST AS digest, COUNT_STAR AS calls,
              SUM_TIMER_WAIT AS timer_wait, MIN_TIMER_WAIT AS min_timer_wait, MAX_TIMER_WAIT AS max_timer_wait,
              SUM_LOCK_TIME AS lock_time, SUM_ERRORS AS errors, SUM_WARNINGS AS warnings,
              SUM_ROWS_AFFECTED AS rows_affected, SUM_ROWS_SENT AS rows_sent, SUM_ROWS_EXAMINED AS rows_examined,
              SUM_CREATED_TMP_DISK_TABLES AS tmp_disk_tables, SUM_NO_INDEX_USED AS no_index_used,
              FIRST_SEEN AS first_seen, LAST_SEEN AS last_seen
         FROM ${DIGESTS}${since === undefined ? '' : ' WHERE DIGEST IS NULL OR LAST_SEEN >= ?'}`,
      since === undefined ? [] : [since],
    );
    const rows: DigestCounters[] = [];
    let undigestedCalls: bigint | undefined;
    for (const row of result) {
      // The row without a digest counts what the server could not digest: its table was full.
      if (row.digest === null) {
        undigestedCalls = big(row.calls);
        continue;
      }
      rows.push({
        schema: text(row.schema_name),
        digest: text(row.digest),
        firstSeen: text(row.first_seen),
        lastSeen: text(row.last_seen),
        calls: big(row.calls),
        timerWaitPs: big(row.timer_wait),
        minTimerWaitPs: big(row.min_timer_wait),
        maxTimerWaitPs: big(row.max_timer_wait),
        lockTimePs: big(row.lock_time),
        errors: big(row.errors),
        warnings: big(row.warnings),
        rowsAffected: big(row.rows_affected),
        rowsSent: big(row.rows_sent),
        rowsExamined: big(row.rows_examined),
        tmpDiskTables: big(row.tmp_disk_tables),
        noIndexUsed: big(row.no_index_used),
      });
    }
    return { rows, undigestedCalls: undigestedCalls ?? 0n };
  }

  /** Digest texts are long and never change for a digest: read once, for the digests not seen before. */
  private async learnTexts(session: MysqlSession, rows: readonly DigestCounters[]): Promise<void> {
    const unknown = [...new Set(rows.filter((r) => !this.shapes.has(digestKey(r))).map((r) => r.digest))];
    for (let i = 0; i < unknown.length; i += TEXT_BATCH) {
      const batch = unknown.slice(i, i + TEXT_BATCH);
      const texts = await session.query(
        `SELECT SCHEMA_NAME AS schema_name, DIGEST AS digest, DIGEST_TEXT AS digest_text
           FROM ${DIGESTS} WHERE DIGEST IN (${batch.map(() => '?').join(', ')})`,
        batch,
      );
      for (const row of texts) {
        const key = digestKey({ schema: text(row.schema_name), digest: text(row.digest) });
        this.shapes.set(key, mysqlShape(text(row.digest_text)));
      }
    }
  }

  /** Shapes of digests the tracker no longer remembers are read again if they come back. */
  private forgetShapes(): void {
    if (this.shapes.size <= this.target.maxDigests * 2) return;
    this.shapes.clear();
  }

  private toRecord(delta: DigestDelta, startNs: bigint, endNs: bigint): QueryStatsRecord {
    const shape = this.shapes.get(digestKey(delta)) ?? { query: '', fingerprint: `digest:${delta.digest}` };
    const calls = Number(delta.calls);
    const totalTimeMs = psToMs(delta.timerWaitPs);
    return {
      type: 'query_stats',
      entityId: this.target.entityId,
      database: delta.schema,
      // The digest summary is per schema and digest; per-user figures would need another table.
      user: '',
      queryId: delta.digest,
      fingerprint: shape.fingerprint,
      query: shape.query,
      intervalStart: startNs.toString(),
      intervalEnd: endNs.toString(),
      calls,
      totalTimeMs,
      minTimeMs: psToMs(delta.minTimerWaitPs),
      maxTimeMs: psToMs(delta.maxTimerWaitPs),
      meanTimeMs: calls === 0 ? 0 : totalTimeMs / calls,
      rows: Number(delta.rowsSent + delta.rowsAffected),
      sharedBlksHit: 0,
      sharedBlksRead: 0,
      sharedBlksDirtied: 0,
      sharedBlksWritten: 0,
      tempBlksRead: 0,
      tempBlksWritten: 0,
      walBytes: 0,
      rowsExamined: Number(delta.rowsExamined),
      lockTimeMs: psToMs(delta.lockTimePs),
      errors: Number(delta.errors),
      noIndexUsed: Number(delta.noIndexUsed),
      tmpDiskTables: Number(delta.tmpDiskTables),
    };
  }

  /**
   * The slowest execution of each digest of the interval that the statement history still
   * holds. The history is optional (its consumers are off by default): without it, no samples.
   */
  private async sample(
    session: MysqlSession,
    server: MysqlServerInfo,
    deltas: readonly DigestDelta[],
    nowNs: bigint,
    explainFailed: ExplainFailure,
  ): Promise<QuerySampleRecord[]> {
    const table = await historyTable(session);
    if (table === undefined) return [];
    const rows = await session.query(
      `SELECT CURRENT_SCHEMA AS schema_name, DIGEST AS digest, SQL_TEXT AS sql_text,
              TIMER_WAIT AS timer_wait, TIMER_END AS timer_end
         FROM performance_schema.${table}
        WHERE DIGEST IS NOT NULL AND SQL_TEXT IS NOT NULL AND TIMER_END > ?
          AND THREAD_ID NOT IN (
                SELECT t.THREAD_ID FROM performance_schema.threads t
                  JOIN performance_schema.session_connect_attrs a ON a.PROCESSLIST_ID = t.PROCESSLIST_ID
                 WHERE a.ATTR_NAME = 'program_name' AND a.ATTR_VALUE = ?)`,
      [this.sampledUpTo.toString(), PROGRAM_NAME],
    );
    const wanted = new Map(deltas.map((d) => [digestKey(d), d]));
    const slowest = new Map<string, { schema: string; sql: string; waitPs: bigint; endPs: bigint }>();
    let newest = this.sampledUpTo;
    for (const row of rows) {
      const endPs = big(row.timer_end);
      if (endPs > newest) newest = endPs;
      const key = digestKey({ schema: text(row.schema_name), digest: text(row.digest) });
      if (!wanted.has(key)) continue;
      const waitPs = big(row.timer_wait);
      const seen = slowest.get(key);
      if (seen === undefined || waitPs > seen.waitPs)
        slowest.set(key, { schema: text(row.schema_name), sql: text(row.sql_text), waitPs, endPs });
    }
    this.sampledUpTo = newest;
    const startNs = msToNs(server.startedAt.getTime());
    const explained = new Set<string>();
    const samples: QuerySampleRecord[] = [];
    // The slowest first: they are the ones worth the EXPLAINs a cycle may run.
    const ordered = [...slowest].sort(([, a], [, b]) =>
      a.waitPs > b.waitPs ? -1 : a.waitPs < b.waitPs ? 1 : 0,
    );
    for (const [key, execution] of ordered) {
      const shape = this.shapes.get(key) ?? mysqlShape(execution.sql);
      const durationMs = psToMs(execution.waitPs);
      const endNs = startNs + execution.endPs / 1000n;
      let plan = '';
      if (this.shouldExplain(durationMs, execution.sql, explained.size)) {
        explained.add(key);
        plan = await explain(session, execution.schema, execution.sql).catch((error: unknown) => {
          explainFailed(error);
          return '';
        });
      }
      samples.push({
        type: 'query_sample',
        entityId: this.target.entityId,
        database: execution.schema,
        user: '',
        ts: (endNs > nowNs ? nowNs : endNs).toString(),
        fingerprint: shape.fingerprint,
        // The sample's own text has literals: only its shape leaves the collector.
        query: mysqlShape(execution.sql).query,
        durationMs,
        plan,
        source: plan === '' ? 'history' : 'explain',
      });
    }
    return samples;
  }

  private shouldExplain(durationMs: number, sql: string, explainedSoFar: number): boolean {
    const settings = this.target.explain;
    return (
      settings.enabled &&
      explainedSoFar < settings.maxPerCycle &&
      durationMs >= settings.minMeanMs &&
      sql.length < SQL_TEXT_LIMIT &&
      isPlainSelect(sql)
    );
  }
}

/** The statement history with the most rows that is switched on, if any. */
async function historyTable(session: MysqlSession): Promise<string | undefined> {
  const rows = await session.query(
    `SELECT NAME AS name FROM performance_schema.setup_consumers
      WHERE ENABLED = 'YES' AND NAME IN ('events_statements_history_long', 'events_statements_history')`,
  );
  const names = rows.map((r) => text(r.name));
  return names.includes('events_statements_history_long')
    ? 'events_statements_history_long'
    : names.includes('events_statements_history')
      ? 'events_statements_history'
      : undefined;
}

/** Only a single SELECT is explained: EXPLAIN of anything else is not worth the risk. */
export function isPlainSelect(sql: string): boolean {
  const body = sql
    .replace(/^(\s+|\/\*[\s\S]*?\*\/|(--|#)[^\n]*\n)*/, '')
    .trim()
    .replace(/;\s*$/, '');
  return /^select\b/i.test(body) && !body.includes(';') && !/\binto\s+(outfile|dumpfile|@)/i.test(body);
}

/** EXPLAIN FORMAT=JSON in the statement's schema, with the literals removed from the plan's conditions. */
async function explain(session: MysqlSession, schema: string, sql: string): Promise<string> {
  if (schema !== '') await session.query(`USE \`${schema.replace(/`/g, '``')}\``);
  const [row] = await session.query(`EXPLAIN FORMAT=JSON ${sql}`);
  const plan = row === undefined ? '' : text(Object.values(row)[0]);
  if (plan === '') return '';
  return JSON.stringify(redactPlan(JSON.parse(plan) as unknown));
}

/** Plans quote the statement's conditions with their literals: those strings keep only their shape. */
export function redactPlan(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(redactPlan);
  if (node === null || typeof node !== 'object') return node;
  const redacted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    redacted[key] =
      typeof value === 'string' && /condition|filter|^ref$|expression/i.test(key)
        ? mysqlShape(value).query
        : redactPlan(value);
  }
  return redacted;
}
