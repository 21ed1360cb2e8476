import { BIGINT, blobValue, listValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type {
  DeadLetterRow,
  LogRow,
  MetricKind,
  MetricPointRow,
  OrgId,
  Severity,
  SpanKind,
  SpanRow,
  SpanStatus,
  Temporality,
} from '../rows.js';
import type {
  LogSearch,
  MetricQuery,
  MetricSeries,
  RecordCounts,
  Store,
  StoredLog,
  StoredSpan,
  WriteResult,
} from '../store.js';
import { MAX_TRACE_SPANS } from '../store.js';
import type { DuckDBDatabase } from './database.js';
import { TableWriter, type TableSpec } from './table-writer.js';

const LOGS: TableSpec<LogRow> = {
  table: 'logs',
  timeColumn: 'ts',
  time: (row) => row.ts,
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'observed_ts', value: (r) => r.observedTs },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'service', value: (r) => r.service },
    { name: 'host', value: (r) => r.host },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'severity', value: (r) => r.severity },
    { name: 'severity_number', value: (r) => r.severityNumber },
    { name: 'severity_text', value: (r) => r.severityText },
    { name: 'body', value: (r) => r.body },
    { name: 'trace_id', value: (r) => r.traceId },
    { name: 'span_id', value: (r) => r.spanId },
    { name: 'event_name', value: (r) => r.eventName },
    { name: 'scope_name', value: (r) => r.scopeName },
    { name: 'attributes', value: (r) => r.attributes },
    { name: 'resource', value: (r) => r.resource },
  ],
};

const SPANS: TableSpec<SpanRow> = {
  table: 'spans',
  timeColumn: 'start_ts',
  time: (row) => row.startTs,
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'start_ts', value: (r) => r.startTs },
    { name: 'end_ts', value: (r) => r.endTs },
    { name: 'duration_ns', value: (r) => r.durationNs },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'trace_id', value: (r) => r.traceId },
    { name: 'span_id', value: (r) => r.spanId },
    { name: 'parent_span_id', value: (r) => r.parentSpanId },
    { name: 'trace_state', value: (r) => r.traceState },
    { name: 'service', value: (r) => r.service },
    { name: 'host', value: (r) => r.host },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'name', value: (r) => r.name },
    { name: 'kind', value: (r) => r.kind },
    { name: 'status', value: (r) => r.status },
    { name: 'status_message', value: (r) => r.statusMessage },
    { name: 'scope_name', value: (r) => r.scopeName },
    { name: 'attributes', value: (r) => r.attributes },
    { name: 'resource', value: (r) => r.resource },
    { name: 'events', value: (r) => r.events },
    { name: 'links', value: (r) => r.links },
  ],
};

const METRIC_POINTS: TableSpec<MetricPointRow> = {
  table: 'metric_points',
  timeColumn: 'ts',
  time: (row) => row.ts,
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'start_ts', value: (r) => r.startTs },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'service', value: (r) => r.service },
    { name: 'host', value: (r) => r.host },
    { name: 'series_id', value: (r) => r.seriesId },
    { name: 'name', value: (r) => r.name },
    { name: 'kind', value: (r) => r.kind },
    { name: 'unit', value: (r) => r.unit },
    { name: 'temporality', value: (r) => r.temporality },
    { name: 'monotonic', value: (r) => r.monotonic },
    { name: 'value', value: (r) => r.value },
    { name: 'labels', value: (r) => r.labels },
    { name: 'resource', value: (r) => r.resource },
    { name: 'scope_name', value: (r) => r.scopeName },
    { name: 'hist_count', value: (r) => r.histCount },
    { name: 'hist_sum', value: (r) => r.histSum },
    { name: 'hist_min', value: (r) => r.histMin },
    { name: 'hist_max', value: (r) => r.histMax },
    { name: 'bucket_bounds', value: (r) => nullableList(r.bucketBounds) },
    { name: 'bucket_counts', value: (r) => nullableList(r.bucketCounts) },
  ],
};

const DEAD_LETTERS: TableSpec<DeadLetterRow> = {
  table: 'dead_letters',
  timeColumn: 'ts',
  time: (row) => row.ts,
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'source_topic', value: (r) => r.sourceTopic },
    { name: 'reason', value: (r) => r.reason },
    { name: 'headers', value: (r) => r.headers },
    { name: 'payload', value: (r) => blobValue(r.payload) },
  ],
};

function nullableList(values: ReadonlyArray<number | bigint> | null): DuckDBValue {
  return values === null ? null : listValue(values);
}

type Params = Record<string, DuckDBValue>;

/**
 * The only way reads reach a telemetry table: the caller's org is always the first
 * condition, so no query can see another org's rows.
 */
function orgScoped(
  table: string,
  org: OrgId,
  conditions: readonly string[],
): { from: string; params: Params } {
  return {
    from: `FROM ${table} WHERE org_id = $org${conditions.map((c) => ` AND ${c}`).join('')}`,
    params: { org },
  };
}

const BIGINT_PARAMS = { fromNs: BIGINT, toNs: BIGINT, stepNs: BIGINT };

export class DuckDBStore implements Store {
  private readonly logs: TableWriter<LogRow>;
  private readonly spans: TableWriter<SpanRow>;
  private readonly metricPoints: TableWriter<MetricPointRow>;
  private readonly deadLetters: TableWriter<DeadLetterRow>;

  constructor(private readonly database: DuckDBDatabase) {
    this.logs = new TableWriter(database, LOGS);
    this.spans = new TableWriter(database, SPANS);
    this.metricPoints = new TableWriter(database, METRIC_POINTS);
    this.deadLetters = new TableWriter(database, DEAD_LETTERS);
  }

  async start(): Promise<void> {
    for (const writer of [this.logs, this.spans, this.metricPoints, this.deadLetters]) await writer.open();
  }

  /** The database is closed by its owner, after every role that shares it has stopped. */
  async shutdown(): Promise<void> {}

  writeLogs(rows: readonly LogRow[]): Promise<WriteResult> {
    return this.logs.write(rows);
  }

  writeSpans(rows: readonly SpanRow[]): Promise<WriteResult> {
    return this.spans.write(rows);
  }

  writeMetricPoints(rows: readonly MetricPointRow[]): Promise<WriteResult> {
    return this.metricPoints.write(rows);
  }

  writeDeadLetters(rows: readonly DeadLetterRow[]): Promise<WriteResult> {
    return this.deadLetters.write(rows);
  }

  async searchLogs(org: OrgId, search: LogSearch): Promise<StoredLog[]> {
    const conditions = ['ts >= $fromNs', 'ts < $toNs'];
    const extra: Params = { fromNs: search.fromNs, toNs: search.toNs, limit: search.limit };
    addIn(conditions, extra, 'service', search.services);
    addIn(conditions, extra, 'severity', search.severities);
    addIn(conditions, extra, 'host', search.hosts);
    addIn(conditions, extra, 'trace_id', search.traceIds);
    search.text.forEach((term, index) => {
      conditions.push(`body ILIKE $text${index} ESCAPE '\\'`);
      extra[`text${index}`] = `%${escapeLike(term)}%`;
    });
    const { from, params } = orgScoped('logs', org, conditions);
    const rows = await this.read(
      `SELECT id, ts, observed_ts, service, host, entity_id, severity, severity_number, severity_text, body,
              trace_id, span_id, event_name, scope_name, attributes, resource
       ${from} ORDER BY ts DESC, id DESC LIMIT $limit`,
      { ...params, ...extra },
    );
    return rows.map((r) => ({
      id: str(r.id),
      ts: big(r.ts),
      observedTs: big(r.observed_ts),
      service: str(r.service),
      host: str(r.host),
      entityId: str(r.entity_id),
      severity: str(r.severity) as Severity,
      severityNumber: Number(r.severity_number),
      severityText: str(r.severity_text),
      body: str(r.body),
      traceId: str(r.trace_id),
      spanId: str(r.span_id),
      eventName: str(r.event_name),
      scopeName: str(r.scope_name),
      attributes: str(r.attributes),
      resource: str(r.resource),
    }));
  }

  async getTrace(org: OrgId, traceId: string): Promise<{ spans: StoredSpan[]; truncated: boolean }> {
    const { from, params } = orgScoped('spans', org, ['trace_id = $traceId']);
    const rows = await this.read(
      `SELECT id, start_ts, end_ts, duration_ns, trace_id, span_id, parent_span_id, trace_state, service, host,
              entity_id, name, kind, status, status_message, scope_name, attributes, resource, events, links
       ${from} ORDER BY start_ts, span_id LIMIT $limit`,
      { ...params, traceId, limit: MAX_TRACE_SPANS + 1 },
    );
    const truncated = rows.length > MAX_TRACE_SPANS;
    const spans = rows.slice(0, MAX_TRACE_SPANS).map((r) => ({
      id: str(r.id),
      startTs: big(r.start_ts),
      endTs: big(r.end_ts),
      durationNs: big(r.duration_ns),
      traceId: str(r.trace_id),
      spanId: str(r.span_id),
      parentSpanId: str(r.parent_span_id),
      traceState: str(r.trace_state),
      service: str(r.service),
      host: str(r.host),
      entityId: str(r.entity_id),
      name: str(r.name),
      kind: str(r.kind) as SpanKind,
      status: str(r.status) as SpanStatus,
      statusMessage: str(r.status_message),
      scopeName: str(r.scope_name),
      attributes: str(r.attributes),
      resource: str(r.resource),
      events: str(r.events),
      links: str(r.links),
    }));
    return { spans, truncated };
  }

  async queryMetrics(
    org: OrgId,
    query: MetricQuery,
  ): Promise<{ series: MetricSeries[]; truncated: boolean }> {
    const { from, params } = orgScoped('metric_points', org, ['name = $name', 'ts >= $fromNs', 'ts < $toNs']);
    const scope = { ...params, name: query.name, fromNs: query.fromNs, toNs: query.toNs };
    const base = { ...scope, maxPoints: query.maxPoints + 1 };
    // A histogram point's value is the mean of its observations, so histograms chart like gauges.
    const pointValue = `coalesce(value, hist_sum / nullif(hist_count, 0))`;
    const rows =
      query.stepNs === undefined
        ? await this.read(
            `SELECT series_id, ts, ${pointValue} AS value, hist_count AS count, hist_sum AS sum
             ${from} ORDER BY series_id, ts LIMIT $maxPoints`,
            base,
          )
        : await this.read(
            `SELECT series_id, (ts // $stepNs) * $stepNs AS ts, ${aggregate(query.aggregation, pointValue)} AS value,
                    sum(hist_count) AS count, sum(hist_sum) AS sum
             ${from} GROUP BY series_id, (ts // $stepNs) ORDER BY series_id, ts LIMIT $maxPoints`,
            { ...base, stepNs: query.stepNs },
          );
    const truncated = rows.length > query.maxPoints;
    if (truncated) rows.length = query.maxPoints;
    const seriesIds = [...new Set(rows.map((r) => str(r.series_id)))];
    if (seriesIds.length === 0) return { series: [], truncated };
    const meta = await this.read(
      `SELECT series_id, any_value(kind) AS kind, any_value(unit) AS unit, any_value(temporality) AS temporality,
              any_value(service) AS service, any_value(labels) AS labels, any_value(resource) AS resource
       ${from} GROUP BY series_id`,
      scope,
    );
    const series = new Map<string, MetricSeries>();
    for (const m of meta) {
      series.set(str(m.series_id), {
        seriesId: str(m.series_id),
        name: query.name,
        kind: str(m.kind) as MetricKind,
        unit: str(m.unit),
        temporality: str(m.temporality) as Temporality,
        service: str(m.service),
        labels: str(m.labels),
        resource: str(m.resource),
        points: [],
      });
    }
    for (const r of rows) {
      series.get(str(r.series_id))?.points.push({
        ts: big(r.ts),
        value: r.value === null ? null : Number(r.value),
        count: r.count === null ? null : big(r.count),
        sum: r.sum === null ? null : Number(r.sum),
      });
    }
    return { series: seriesIds.flatMap((id) => series.get(id) ?? []), truncated };
  }

  async countRecords(org: OrgId): Promise<RecordCounts> {
    const count = async (table: string): Promise<number> => {
      const { from, params } = orgScoped(table, org, []);
      const rows = await this.read(`SELECT count(*) AS n ${from}`, params);
      return Number(rows[0]?.n ?? 0);
    };
    return {
      logs: await count('logs'),
      spans: await count('spans'),
      metricPoints: await count('metric_points'),
      deadLetters: await count('dead_letters'),
    };
  }

  private read(sql: string, params: Params): Promise<Record<string, unknown>[]> {
    const types = Object.fromEntries(
      Object.keys(params).flatMap((k) => (k in BIGINT_PARAMS ? [[k, BIGINT]] : [])),
    );
    return this.database.withConnection(async (connection: DuckDBConnection) => {
      const reader = await connection.runAndReadAll(sql, params, types);
      return reader.getRowObjectsJS();
    });
  }
}

function addIn(conditions: string[], params: Params, column: string, values: readonly string[]): void {
  if (values.length === 0) return;
  const names = values.map((value, index) => {
    const name = `${column}${index}`;
    params[name] = value;
    return `$${name}`;
  });
  conditions.push(`${column} IN (${names.join(', ')})`);
}

function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function aggregate(aggregation: MetricQuery['aggregation'], value: string): string {
  switch (aggregation) {
    case 'avg':
      return `avg(${value})`;
    case 'min':
      return `min(${value})`;
    case 'max':
      return `max(${value})`;
    case 'sum':
      return `sum(${value})`;
    case 'count':
      return `count(${value})`;
    case 'last':
      return `arg_max(${value}, ts)`;
  }
}

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean'
    ? String(value)
    : '';
}

function big(value: unknown): bigint {
  return typeof value === 'bigint' ? value : BigInt(Number(value ?? 0));
}
