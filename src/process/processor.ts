import type { Bus, Consumer, IncomingMessage, OutgoingMessage } from '../bus/bus.js';
import { activitySnapshot, entityRecord, rawQueryRecord, serverLogRecord } from '../bus/raw-records.js';
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
  type LogRow,
  type MetricPointRow,
  type OrgId,
  type QuerySampleRow,
  type QueryStatRow,
  type SessionRow,
  type SpanRow,
} from '../store/rows.js';
import type { Store, WriteResult } from '../store/store.js';
import { logsToRows, metricsToRows, spansToRows, type RowContext } from './otlp-rows.js';
import {
  activityToRows,
  entityToRow,
  parseRawRecord,
  rawQueryToRow,
  type RawQueryRow,
  serverLogToRows,
  type ActivityRows,
  type ServerLogRows,
} from './raw-rows.js';

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
}

/** The consumer group of the store writers. */
const PROCESSOR_GROUP = 'sightline-processor';

/** What one write did to one table, for the self-metrics. */
interface TableWrite {
  table: string;
  rows: number;
  result: WriteResult;
}

/** How the messages of one topic become rows and reach the store. */
interface Pipeline<Row> {
  /** The `signal` label of the rejected-records counter. */
  signal: string;
  /** The `table` label of the batch latency: the table the pipeline mainly writes. */
  table: string;
  /** Throws when the message cannot be read; the message then goes to the dead-letter topic. */
  toRows: (message: IncomingMessage, context: RowContext) => Row[];
  /** Writes the rows of one or more messages in one go; every write is idempotent. */
  write: (rows: Row[]) => Promise<TableWrite[]>;
}

/**
 * The processor role: consumes the OTLP topics and the collectors' `raw-*` topics, turns each
 * message into rows and writes them in one batch per delivery. A batch is committed on the bus
 * only after the store has committed it; a message that cannot be read goes to the dead-letter
 * topic with the reason.
 */
export class Processor implements Component {
  private readonly consumers: Consumer[] = [];

  constructor(private readonly deps: ProcessorDeps) {}

  async start(): Promise<void> {
    const { store, metrics } = this.deps;
    const writeLogs = into('logs', (rows: readonly LogRow[]) => store.writeLogs(rows));
    const writeSamples = into('query_samples', (rows: readonly QuerySampleRow[]) =>
      store.writeQuerySamples(rows),
    );
    const writeSessions = into('activity_samples', (rows: readonly SessionRow[]) =>
      store.writeSessions(rows),
    );
    const writeSnapshots = into('activity_snapshots', (rows: readonly ActivitySnapshotRow[]) =>
      store.writeActivitySnapshots(rows),
    );
    await this.consumeTopic(TOPICS.otelLogs, {
      signal: 'logs',
      table: 'logs',
      toRows: (message, context) => logsToRows(decode('logs', message), context),
      write: writeLogs,
    });
    await this.consumeTopic(TOPICS.otelTraces, {
      signal: 'traces',
      table: 'spans',
      toRows: (message, context) => spansToRows(decode('traces', message), context),
      write: into('spans', (rows: readonly SpanRow[]) => store.writeSpans(rows)),
    });
    await this.consumeTopic(TOPICS.otelMetrics, {
      signal: 'metrics',
      table: 'metric_points',
      toRows: (message, context) => {
        const { rows, unsupported } = metricsToRows(decode('metrics', message), context);
        if (unsupported > 0)
          metrics.recordsRejected.inc({ signal: 'metrics', reason: 'unsupported_metric_type' }, unsupported);
        return rows;
      },
      write: into('metric_points', (rows: readonly MetricPointRow[]) => store.writeMetricPoints(rows)),
    });
    const writeQueryStats = into('query_stats', (rows: readonly QueryStatRow[]) =>
      store.writeQueryStats(rows),
    );
    await this.consumeTopic<RawQueryRow>(TOPICS.rawQueries, {
      signal: 'query_stats',
      table: 'query_stats',
      toRows: (message, context) => [
        rawQueryToRow(parseRawRecord(rawQueryRecord, 'raw-queries', message.value), context),
      ],
      write: async (rows) => [
        ...(await writeQueryStats(rows.flatMap((r) => (r.stat === undefined ? [] : [r.stat])))),
        ...(await writeSamples(rows.flatMap((r) => (r.sample === undefined ? [] : [r.sample])))),
      ],
    });
    await this.consumeTopic<ServerLogRows>(TOPICS.rawLogs, {
      signal: 'server_logs',
      table: 'logs',
      toRows: (message, context) => [
        serverLogToRows(parseRawRecord(serverLogRecord, 'server_log', message.value), context),
      ],
      write: async (rows) => [
        ...(await writeLogs(rows.map((r) => r.log))),
        ...(await writeSamples(rows.flatMap((r) => (r.sample === null ? [] : [r.sample])))),
      ],
    });
    await this.consumeTopic<ActivityRows>(TOPICS.rawActivity, {
      signal: 'activity',
      table: 'activity_samples',
      toRows: (message, context) => [
        activityToRows(parseRawRecord(activitySnapshot, 'activity', message.value), context),
      ],
      // Sessions before their snapshot: a snapshot the store shows has all its sessions.
      write: async (rows) => [
        ...(await writeSessions(rows.flatMap((r) => r.sessions))),
        ...(await writeSnapshots(rows.map((r) => r.snapshot))),
      ],
    });
    await this.consumeTopic(TOPICS.rawEntities, {
      signal: 'entities',
      table: 'entities',
      toRows: (message, context) => [
        entityToRow(parseRawRecord(entityRecord, 'entity', message.value), context),
      ],
      write: into('entities', (rows: readonly EntityRow[]) => store.upsertEntities(rows)),
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

  private async consumeTopic<Row>(topic: Topic, pipeline: Pipeline<Row>): Promise<void> {
    const consumer = await this.deps.bus.consume(this.consumerOptions(topic), (messages) =>
      this.processBatch(topic, pipeline, messages),
    );
    this.consumers.push(consumer);
  }

  private async processBatch<Row>(
    topic: Topic,
    pipeline: Pipeline<Row>,
    messages: readonly IncomingMessage[],
  ): Promise<void> {
    const prepared: Array<{ message: IncomingMessage; rows: Row[] }> = [];
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
        prepared.push({ message, rows: pipeline.toRows(message, rowContext(message)) });
      } catch (error) {
        setAside(message, errorMessage(error));
      }
    }
    try {
      await this.write(
        pipeline,
        prepared.flatMap((p) => p.rows),
      );
    } catch (error) {
      // One message the store refuses must not hold up the others forever: write each alone.
      // If none goes through, the store itself is failing and the whole batch is retried.
      if (prepared.length < 2) throw error;
      const refused: Array<{ message: IncomingMessage; error: unknown }> = [];
      for (const { message, rows } of prepared) {
        try {
          await this.write(pipeline, rows);
        } catch (alone) {
          refused.push({ message, error: alone });
        }
      }
      if (refused.length === prepared.length) throw error;
      for (const { message, error: why } of refused)
        setAside(message, `the store refused it: ${errorMessage(why)}`);
    }
    if (deadLetters.length > 0) await this.deps.bus.publish(TOPICS.deadLetter, deadLetters);
  }

  private async write<Row>(pipeline: Pipeline<Row>, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const { metrics } = this.deps;
    const stopTimer = metrics.batchLatency.startTimer({ table: pipeline.table });
    const writes = await pipeline.write(rows);
    stopTimer();
    for (const { table, rows: count, result } of writes) {
      metrics.batchRows.observe({ table }, count);
      metrics.recordsStored.inc({ table }, result.inserted);
      metrics.recordsDuplicate.inc({ table }, result.duplicates);
    }
  }
}

/** A write of rows into one table, skipped when there are none. */
function into<Row>(
  table: string,
  write: (rows: readonly Row[]) => Promise<WriteResult>,
): (rows: Row[]) => Promise<TableWrite[]> {
  return async (rows) => (rows.length === 0 ? [] : [{ table, rows: rows.length, result: await write(rows) }]);
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
