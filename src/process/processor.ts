import type { Bus, Consumer, IncomingMessage, OutgoingMessage } from '../bus/bus.js';
import {
  activitySnapshot,
  entityRecord,
  rawQueryRecord,
  rumEventRecord,
  serverLogRecord,
} from '../bus/raw-records.js';
import { HEADERS, TOPICS, type Topic } from '../bus/topics.js';
import type { Component } from '../core/component.js';
import { errorMessage } from '../core/errors.js';
import { bytesId, recordId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { msToNs, nowNs } from '../core/time.js';
import { decodeRequest } from '../otlp/codec.js';
import type { OtlpSignal } from '../otlp/types.js';
import {
  orgId,
  type ActivitySnapshotRow,
  type DeadLetterRow,
  type EntityRow,
  type OrgId,
  type SessionRow,
} from '../store/rows.js';
import type { Store, WriteResult } from '../store/store.js';
import { logsToRows, metricsToRows, spansToRows, type RowContext } from './otlp-rows.js';
import {
  activityToRows,
  entityToRow,
  parseRawRecord,
  rawQueryToRow,
  rumEventToRow,
  serverLogToRows,
} from './raw-rows.js';
import type { StageChain } from './stages/chain.js';
import { emptyBatch, type RowBatch } from './stages/processor.js';

export interface BatchOptions {
  maxMessages: number;
  maxBytes: number;
  maxWaitMs: number;
}

export interface ProcessorDeps {
  bus: Bus;
  store: Store;
  metrics: SelfMetrics;
  logger: Logger;
  batch: BatchOptions;
  /** The pipeline stages every message's rows pass before the store. */
  stages: StageChain;
  /** Counts what was stored per org, day and signal (usage_daily). */
  usage?: { record(org: OrgId, batch: RowBatch, nowNs: bigint): void };
}

/** The consumer group of the store writers. */
export const PROCESSOR_GROUP = 'sightline-processor';

/** Every table a message can have rows for: the stages' tables and the collectors' own. */
interface TableRows extends RowBatch {
  sessions: SessionRow[];
  snapshots: ActivitySnapshotRow[];
  entities: EntityRow[];
}

function tableRows(rows: Partial<TableRows> = {}): TableRows {
  return { ...emptyBatch(), sessions: [], snapshots: [], entities: [], ...rows };
}

/** What one write did to one table, for the self-metrics. */
interface TableWrite {
  table: string;
  rows: number;
  result: WriteResult;
}

/** How the messages of one topic become rows. */
interface Pipeline {
  /** The `signal` label of the rejected-records counter. */
  signal: string;
  /** The `table` label of the batch latency: the table the pipeline mainly writes. */
  table: string;
  /** Throws when the message cannot be read; the message then goes to the dead-letter topic. */
  toRows: (message: IncomingMessage, context: RowContext) => Partial<TableRows>;
}

/** A message read and through the stages, waiting for the store. */
interface Prepared {
  message: IncomingMessage;
  rows: TableRows;
  /** What the stages asked to run once these rows are stored. */
  onStored: Array<() => void>;
}

/**
 * The processor role: consumes the OTLP topics and the collectors' and browsers' `raw-*` topics,
 * turns each message into rows, runs them through the configured stages (per org) and writes them
 * in one batch per delivery. A batch is committed on the bus only after the store has committed it; a
 * message that cannot be read goes to the dead-letter topic with the reason.
 */
export class ProcessorRole implements Component {
  private readonly consumers: Consumer[] = [];

  constructor(private readonly deps: ProcessorDeps) {}

  async start(): Promise<void> {
    const { store, metrics } = this.deps;
    await this.consumeTopic(TOPICS.otelLogs, {
      signal: 'logs',
      table: 'logs',
      toRows: (message, context) => ({ logs: logsToRows(decode('logs', message), context) }),
    });
    await this.consumeTopic(TOPICS.otelTraces, {
      signal: 'traces',
      table: 'spans',
      toRows: (message, context) => ({ spans: spansToRows(decode('traces', message), context) }),
    });
    await this.consumeTopic(TOPICS.otelMetrics, {
      signal: 'metrics',
      table: 'metric_points',
      toRows: (message, context) => {
        const { rows, unsupported } = metricsToRows(decode('metrics', message), context);
        if (unsupported > 0)
          metrics.recordsRejected.inc({ signal: 'metrics', reason: 'unsupported_metric_type' }, unsupported);
        return { metricPoints: rows };
      },
    });
    await this.consumeTopic(TOPICS.rawQueries, {
      signal: 'query_stats',
      table: 'query_stats',
      toRows: (message, context) => {
        const row = rawQueryToRow(parseRawRecord(rawQueryRecord, 'raw-queries', message.value), context);
        return row.stat === undefined ? { querySamples: [row.sample] } : { queryStats: [row.stat] };
      },
    });
    await this.consumeTopic(TOPICS.rawLogs, {
      signal: 'server_logs',
      table: 'logs',
      toRows: (message, context) => {
        const { log, sample } = serverLogToRows(
          parseRawRecord(serverLogRecord, 'server_log', message.value),
          context,
        );
        return { logs: [log], querySamples: sample === null ? [] : [sample] };
      },
    });
    await this.consumeTopic(TOPICS.rawRum, {
      signal: 'rum',
      table: 'rum_events',
      toRows: (message, context) => ({
        rumEvents: [rumEventToRow(parseRawRecord(rumEventRecord, 'raw-rum', message.value), context)],
      }),
    });
    await this.consumeTopic(TOPICS.rawActivity, {
      signal: 'activity',
      table: 'activity_samples',
      toRows: (message, context) => {
        const { snapshot, sessions } = activityToRows(
          parseRawRecord(activitySnapshot, 'activity', message.value),
          context,
        );
        return { sessions, snapshots: [snapshot] };
      },
    });
    await this.consumeTopic(TOPICS.rawEntities, {
      signal: 'entities',
      table: 'entities',
      toRows: (message, context) => ({
        entities: [entityToRow(parseRawRecord(entityRecord, 'entity', message.value), context)],
      }),
    });
    this.consumers.push(
      await this.deps.bus.consume(this.consumerOptions(TOPICS.deadLetter), async (messages) => {
        const result = await store.writeDeadLetters(messages.map(toDeadLetterRow));
        metrics.recordsStored.inc({ table: 'dead_letters' }, result.inserted);
      }),
    );
  }

  async shutdown(): Promise<void> {
    for (const consumer of this.consumers.splice(0)) await consumer.close();
  }

  private consumerOptions(topic: Topic) {
    const { maxMessages, maxBytes, maxWaitMs } = this.deps.batch;
    return {
      group: PROCESSOR_GROUP,
      topic,
      maxBatchMessages: maxMessages,
      maxBatchBytes: maxBytes,
      maxWaitMs,
    };
  }

  private async consumeTopic(topic: Topic, pipeline: Pipeline): Promise<void> {
    const consumer = await this.deps.bus.consume(this.consumerOptions(topic), (messages) =>
      this.processBatch(topic, pipeline, messages),
    );
    this.consumers.push(consumer);
  }

  private async processBatch(
    topic: Topic,
    pipeline: Pipeline,
    messages: readonly IncomingMessage[],
  ): Promise<void> {
    const prepared: Prepared[] = [];
    const deadLetters: OutgoingMessage[] = [];
    const setAside = (message: IncomingMessage, reason: string): void => {
      this.deps.logger.warn(
        { topic, offset: String(message.offset), reason },
        'message sent to the dead-letter topic',
      );
      this.deps.metrics.recordsRejected.inc({ signal: pipeline.signal, reason: 'dead_letter' });
      deadLetters.push(deadLetterOf(topic, message, reason));
    };
    for (const message of messages) {
      try {
        prepared.push(this.prepare(message, pipeline));
      } catch (error) {
        setAside(message, errorMessage(error));
      }
    }
    try {
      await this.write(pipeline, merged(prepared));
      for (const p of prepared) for (const callback of p.onStored) callback();
    } catch (error) {
      // One message the store refuses must not hold up the others forever: write each alone.
      // If none goes through, the store itself is failing and the whole batch is retried.
      if (prepared.length < 2) throw error;
      const refused: Array<{ message: IncomingMessage; error: unknown }> = [];
      for (const p of prepared) {
        try {
          await this.write(pipeline, p.rows);
          for (const callback of p.onStored) callback();
        } catch (alone) {
          refused.push({ message: p.message, error: alone });
        }
      }
      if (refused.length === prepared.length) throw error;
      for (const { message, error: why } of refused)
        setAside(message, `the store refused it: ${errorMessage(why)}`);
    }
    if (deadLetters.length > 0) await this.deps.bus.publish(TOPICS.deadLetter, deadLetters);
  }

  /** Reads one message into rows and runs them through its org's stages. */
  private prepare(message: IncomingMessage, pipeline: Pipeline): Prepared {
    const context = rowContext(message);
    const rows = tableRows(pipeline.toRows(message, context));
    const onStored: Array<() => void> = [];
    const { metrics, usage } = this.deps;
    const now = nowNs();
    // The stages see the RowBatch tables; the collectors' own tables pass them untouched.
    const staged = this.deps.stages.run(rows, {
      orgId: context.orgId,
      nowNs: now,
      count: (outcome, kind, reason, n = 1) => {
        if (n > 0) metrics.stageRecords.inc({ org: context.orgId, outcome, kind, reason }, n);
      },
      onStored: (callback) => onStored.push(callback),
    });
    // Usage counts what the store holds: what the stages let through, once it is stored.
    if (usage !== undefined) onStored.push(() => usage.record(context.orgId, staged, now));
    return { message, rows: { ...rows, ...staged }, onStored };
  }

  /** Writes every table that has rows; sessions before their snapshots, so a snapshot shown is whole. */
  private async write(pipeline: Pipeline, rows: TableRows): Promise<void> {
    const { store, metrics } = this.deps;
    const stopTimer = metrics.batchLatency.startTimer({ table: pipeline.table });
    const writes: TableWrite[] = [
      ...(await into('logs', rows.logs, (r) => store.writeLogs(r))),
      ...(await into('spans', rows.spans, (r) => store.writeSpans(r))),
      ...(await into('metric_points', rows.metricPoints, (r) => store.writeMetricPoints(r))),
      ...(await into('query_stats', rows.queryStats, (r) => store.writeQueryStats(r))),
      ...(await into('query_samples', rows.querySamples, (r) => store.writeQuerySamples(r))),
      ...(await into('rum_events', rows.rumEvents, (r) => store.writeRumEvents(r))),
      ...(await into('activity_samples', rows.sessions, (r) => store.writeSessions(r))),
      ...(await into('activity_snapshots', rows.snapshots, (r) => store.writeActivitySnapshots(r))),
      ...(await into('entities', rows.entities, (r) => store.upsertEntities(r))),
    ];
    if (writes.length === 0) return;
    stopTimer();
    for (const { table, rows: count, result } of writes) {
      metrics.batchRows.observe({ table }, count);
      metrics.recordsStored.inc({ table }, result.inserted);
      metrics.recordsDuplicate.inc({ table }, result.duplicates);
    }
  }
}

/** The rows of several messages, table by table, for one write. */
function merged(prepared: readonly Prepared[]): TableRows {
  const all = tableRows();
  for (const { rows } of prepared) {
    for (const table of Object.keys(all) as Array<keyof TableRows>) {
      const target = all[table] as unknown[];
      for (const row of rows[table]) target.push(row);
    }
  }
  return all;
}

/** A write of rows into one table, skipped when there are none. */
async function into<Row>(
  table: string,
  rows: readonly Row[],
  write: (rows: readonly Row[]) => Promise<WriteResult>,
): Promise<TableWrite[]> {
  return rows.length === 0 ? [] : [{ table, rows: rows.length, result: await write(rows) }];
}

function rowContext(message: IncomingMessage): RowContext {
  const org = message.headers[HEADERS.orgId];
  if (org === undefined || org === '') throw new Error(`the message has no ${HEADERS.orgId} header`);
  const receivedAt = Number(message.headers[HEADERS.receivedAt]);
  return { orgId: orgId(org), receivedAtNs: Number.isFinite(receivedAt) ? msToNs(receivedAt) : nowNs() };
}

function decode<S extends OtlpSignal>(signal: S, message: IncomingMessage) {
  const request = decodeRequest(signal, 'protobuf', message.value);
  if (request.signal !== signal) throw new Error(`expected ${signal}, decoded ${request.signal}`);
  return request.message as Extract<ReturnType<typeof decodeRequest>, { signal: S }>['message'];
}

function deadLetterOf(topic: Topic, message: IncomingMessage, reason: string): OutgoingMessage {
  return {
    key: topic,
    value: message.value,
    headers: { ...message.headers, [HEADERS.reason]: reason.slice(0, 1000), [HEADERS.sourceTopic]: topic },
  };
}

function toDeadLetterRow(message: IncomingMessage): DeadLetterRow {
  const org = (message.headers[HEADERS.orgId] ?? '') as OrgId;
  const sourceTopic = message.headers[HEADERS.sourceTopic] ?? '';
  const reason = message.headers[HEADERS.reason] ?? 'unknown';
  const receivedAt = Number(message.headers[HEADERS.receivedAt]);
  return {
    id: recordId([org, sourceTopic, reason, bytesId(message.value)]),
    ts: Number.isFinite(receivedAt) ? msToNs(receivedAt) : nowNs(),
    orgId: org,
    sourceTopic,
    reason,
    headers: JSON.stringify(message.headers),
    payload: message.value,
  };
}
