import { configSchema } from '../src/config/schema.js';
import { nowNs } from '../src/core/time.js';
import { decodeRequest, encodeRequest } from '../src/otlp/codec.js';
import type { LogsRequest } from '../src/otlp/types.js';
import { logsToRows } from '../src/process/otlp-rows.js';
import { redactStageReady } from '../src/process/stages/redact.js';
import { createStageChain } from '../src/process/stages/registry.js';
import { UsageRecorder } from '../src/process/stages/usage.js';
import { emptyBatch, type RowKind, type StageContext } from '../src/process/stages/processor.js';
import { orgId } from '../src/store/rows.js';
import type { Metric } from './metric.js';
import { buildTemplates, instantiate } from './otlp-logs-body.js';
import { progress, round } from './report.js';

/**
 * What the processing pipeline costs per record, on one core: OTLP log requests as the ingest
 * benchmark sends them (500 records of ~1 KB), with personal data in some (emails, card
 * numbers, client addresses, user agents, statements with literals), decoded and turned into
 * rows (normalize) and passed through every stage, sampling included (at a target no record
 * reaches, so it costs what it costs without dropping). Then what the processor runs once the
 * store has a message's rows (`on_stored`): the dedupe window remembers their ids and usage counts
 * them. The store is not part of it.
 *
 * The target compares this with the end-to-end ingest time per record of the Foundation
 * benchmark (otlp_logs_ingest_throughput): at most half of it.
 */

export interface PipelineBenchOptions {
  durationS: number;
  batchSize: number;
  recordBytes: number;
  /** Records/s acknowledged end to end by the ingest benchmark, to compare with. */
  ingestRecordsPerSecond: number;
}

/** The share of the end-to-end ingest time per record the pipeline may take. */
const SHARE_TARGET = 0.5;
const TEMPLATES = 16;
const WARMUP_S = 2;
/** Of every 10 records: one with an email, one with a card number in the body (see withPersonalData). */
const EMAIL_EVERY = 10;
const CARD_EVERY = 25;

export async function pipelineThroughput(options: PipelineBenchOptions): Promise<Metric[]> {
  progress(`pipeline: preparing ${TEMPLATES} requests of ${options.batchSize} records`);
  await redactStageReady();
  const messages = requests(options);
  const stages = configSchema
    .parse({})
    .processor.stages.map((stage) =>
      stage.type === 'sample' ? { ...stage, enabled: true, targetRecordsPerSecond: 1e12 } : stage,
    );
  const timings = new Map<string, number>();
  const chain = createStageChain(stages, {
    observe: (stage, seconds) => timings.set(stage, (timings.get(stage) ?? 0) + seconds),
  });
  const org = orgId('org_bench');
  const stored: Array<() => void> = [];
  const context: StageContext = {
    orgId: org,
    nowNs: nowNs(),
    count: (_outcome: string, _kind: RowKind, reason: string) => {
      if (reason === 'sampled' || reason === 'duplicate')
        throw new Error(`the benchmark drops nothing; a stage dropped records as ${reason}`);
    },
    onStored: (callback) => stored.push(callback),
  };
  const usage = new UsageRecorder({ addUsage: () => Promise.resolve() }, { flushIntervalMs: 60_000 });

  /** Messages handed to the pipeline so far, over the warm-up and the measured run. */
  let passes = 0;
  const run = (seconds: number) => {
    timings.clear();
    let records = 0;
    let normalizeS = 0;
    let onStoredS = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    for (let i = 0; performance.now() < deadline; i++) {
      const message = messages[i % messages.length] as Uint8Array;
      const t0 = performance.now();
      const request = decodeRequest('logs', 'protobuf', message);
      if (request.signal !== 'logs') throw new Error('decoded something else than logs');
      const rows = logsToRows(request.message, { orgId: org, receivedAtNs: context.nowNs });
      normalizeS += (performance.now() - t0) / 1000;
      // The requests repeat; a record of a later pass gets an id of its own, as a new record would,
      // so the dedupe window fills as it does in service instead of dropping the repeats.
      const pass = passes++;
      if (pass >= messages.length) for (const row of rows) (row as { id: string }).id += `.${pass}`;
      const out = chain.run({ ...emptyBatch(), logs: rows }, context);
      if (out.logs.length !== rows.length)
        throw new Error(`${rows.length - out.logs.length} records dropped`);
      const t1 = performance.now();
      usage.record(org, out, context.nowNs);
      for (const callback of stored.splice(0)) callback();
      onStoredS += (performance.now() - t1) / 1000;
      records += rows.length;
    }
    return { records, wallS: (performance.now() - started) / 1000, normalizeS, onStoredS };
  };

  progress(`pipeline: warm-up ${WARMUP_S} s`);
  run(WARMUP_S);
  progress(`pipeline: measuring ${options.durationS} s on one core`);
  const cpuBefore = process.cpuUsage();
  const measured = run(options.durationS);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuS = (cpu.user + cpu.system) / 1e6;

  const stageS = [...timings.values()].reduce((sum, s) => sum + s, 0);
  const pipelineS = measured.normalizeS + stageS + measured.onStoredS;
  const usPerRecord = (pipelineS * 1e6) / measured.records;
  const ingestUsPerRecord = 1e6 / options.ingestRecordsPerSecond;
  const share = usPerRecord / ingestUsPerRecord;
  progress(
    `pipeline: ${measured.records} records in ${measured.wallS.toFixed(1)} s wall, ${cpuS.toFixed(1)} s CPU; ` +
      `${usPerRecord.toFixed(2)} µs/record vs ${ingestUsPerRecord.toFixed(2)} µs/record end to end at ` +
      `${Math.round(options.ingestRecordsPerSecond)} records/s ingest`,
  );
  const parts: Array<[string, number]> = [
    ['normalize', measured.normalizeS],
    ...timings,
    ['on_stored', measured.onStoredS],
  ];
  for (const [stage, seconds] of parts)
    progress(
      `  ${stage.padEnd(10)} ${((100 * seconds) / pipelineS).toFixed(1).padStart(5)} %  ${((seconds * 1e6) / measured.records).toFixed(2)} µs/record`,
    );

  return [
    {
      name: 'pipeline_throughput_one_core',
      value: Math.round(measured.records / pipelineS),
      unit: 'records/s',
    },
    { name: 'pipeline_cost_per_record', value: round(usPerRecord), unit: 'µs' },
    {
      name: 'pipeline_share_of_ingest_time',
      value: round(share, 3),
      unit: 'ratio',
      target: SHARE_TARGET,
    },
    ...parts.map(([stage, seconds]) => ({
      name: `pipeline_stage_share_${stage}`,
      value: round((100 * seconds) / pipelineS, 1),
      unit: '%',
    })),
  ];
}

/** The ingest benchmark's requests, with personal data added to some records. */
function requests(options: PipelineBenchOptions): Uint8Array[] {
  const templates = buildTemplates({
    batchSize: options.batchSize,
    recordBytes: options.recordBytes,
    templates: TEMPLATES,
    seed: 7,
  });
  return templates.map((template, t) => {
    const decoded = decodeRequest('logs', 'protobuf', instantiate(template, t * options.batchSize, nowNs()));
    if (decoded.signal !== 'logs') throw new Error('the ingest benchmark made something else than logs');
    return encodeRequest({ signal: 'logs', message: withPersonalData(decoded.message, t) });
  });
}

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  'okhttp/4.12.0',
];
const CLIENTS = ['8.8.8.8', '81.2.69.142', '193.0.6.139', '10.1.2.3', '2a00:1450:4001:82a::200e'];

function withPersonalData(request: LogsRequest, template: number): LogsRequest {
  let n = template * 1000;
  for (const resourceLogs of request.resourceLogs ?? []) {
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        n++;
        const body = record.body?.stringValue ?? '';
        const extra =
          n % EMAIL_EVERY === 0
            ? ` contact=jane.doe${n}@example.com`
            : n % CARD_EVERY === 0
              ? ' card=4111 1111 1111 1111'
              : '';
        record.body = { stringValue: `${body}${extra}` };
        record.attributes = [
          ...(record.attributes ?? []),
          { key: 'client.address', value: { stringValue: CLIENTS[n % CLIENTS.length] ?? '' } },
          { key: 'user_agent.original', value: { stringValue: USER_AGENTS[n % USER_AGENTS.length] ?? '' } },
          ...(n % 7 === 0
            ? [
                {
                  key: 'db.statement',
                  value: { stringValue: `SELECT * FROM orders WHERE id = ${n} AND status = 'paid'` },
                },
              ]
            : []),
        ];
      }
    }
  }
  return request;
}
