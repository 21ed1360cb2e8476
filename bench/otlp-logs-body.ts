import Long from 'long';
import { opentelemetry } from '../src/otlp/generated/otlp.js';

/**
 * OTLP logs request bodies for the load generator. Encoding 500 records with protobufjs and
 * making up their text costs more CPU than the server spends on them, and the server shares
 * the machine; so a pool of requests is encoded once, and each request sent is a copy of one
 * with its sequence numbers and timestamps overwritten in place. Both are fixed-width in the
 * encoding (12 ASCII digits, fixed64), so every length prefix stays valid.
 */

const logs = opentelemetry.proto.logs.v1;
const ExportLogsServiceRequest = opentelemetry.proto.collector.v1.ExportLogsServiceRequest;
type LogRecordProperties = opentelemetry.proto.logs.v1.LogRecord.$Properties;
type KeyValueProperties = opentelemetry.proto.common.v1.KeyValue.$Properties;

const SEQ_DIGITS = 12;
/** No generated text contains '#', so the placeholder is found only where it was put. */
const SEQ_PLACEHOLDER = '#'.repeat(SEQ_DIGITS);
/** Bytes that ASCII text and small varints cannot produce, marking where each timestamp goes. */
const TIME_SENTINEL = Long.fromBits(0x3c5aa5c3, 0x8ff069d6, true);
const TIME_SENTINEL_BYTES = Buffer.from([0xc3, 0xa5, 0x5a, 0x3c, 0xd6, 0x69, 0xf0, 0x8f]);

export interface BodyOptions {
  batchSize: number;
  /** Length of each record's body text. */
  recordBytes: number;
  templates: number;
  seed: number;
}

export interface RequestTemplate {
  bytes: Buffer;
  seqOffsets: number[];
  /** Per record: its timeUnixNano, then its observedTimeUnixNano. */
  timeOffsets: number[];
}

export function buildTemplates(options: BodyOptions): RequestTemplate[] {
  const random = mulberry32(options.seed);
  return Array.from({ length: options.templates }, (_unused, index) => buildTemplate(random, index, options));
}

/** A new uncompressed body: the template with records numbered from `firstSeq`, stamped `nowNs`. */
export function instantiate(template: RequestTemplate, firstSeq: number, nowNs: bigint): Buffer {
  const bytes = Buffer.from(template.bytes);
  const records = template.seqOffsets.length;
  for (let i = 0; i < records; i++) {
    const digits = String(firstSeq + i).padStart(SEQ_DIGITS, '0');
    bytes.write(digits, template.seqOffsets[i] ?? 0, 'latin1');
    // Records spaced 1 µs apart and observed at nowNs: distinct times, as from a busy service.
    const time = nowNs - BigInt((records - i) * 1000);
    bytes.writeBigUInt64LE(time, template.timeOffsets[2 * i] ?? 0);
    bytes.writeBigUInt64LE(nowNs, template.timeOffsets[2 * i + 1] ?? 0);
  }
  return bytes;
}

function buildTemplate(random: Random, index: number, options: BodyOptions): RequestTemplate {
  const service = pick(random, SERVICES);
  const logRecords = Array.from({ length: options.batchSize }, () =>
    logRecord(random, service, options.recordBytes),
  );
  const bytes = Buffer.from(
    ExportLogsServiceRequest.encode({
      resourceLogs: [
        {
          resource: {
            attributes: [
              stringKv('service.name', service.name),
              stringKv('service.version', `2.${index % 7}.${index % 13}`),
              stringKv('service.instance.id', hex(random, 16)),
              stringKv('host.name', `ip-10-0-${index % 8}-${10 + (index % 40)}.eu-west-1.compute.internal`),
              stringKv('deployment.environment', 'production'),
            ],
          },
          scopeLogs: [{ scope: { name: service.logger, version: '1.0.0' }, logRecords }],
        },
      ],
    }).finish(),
  );
  const seqOffsets = offsetsOf(bytes, Buffer.from(SEQ_PLACEHOLDER, 'latin1'));
  const timeOffsets = offsetsOf(bytes, TIME_SENTINEL_BYTES);
  if (seqOffsets.length !== options.batchSize || timeOffsets.length !== 2 * options.batchSize) {
    throw new Error(
      `template ${index}: found ${seqOffsets.length} sequence and ${timeOffsets.length} time placeholders for ${options.batchSize} records`,
    );
  }
  return { bytes, seqOffsets, timeOffsets };
}

function offsetsOf(haystack: Buffer, needle: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) {
    offsets.push(at);
  }
  return offsets;
}

interface Service {
  name: string;
  logger: string;
  routes: readonly string[];
}

const SERVICES: readonly Service[] = [
  {
    name: 'checkout',
    logger: 'com.acme.checkout.OrderService',
    routes: ['/api/v2/orders', '/api/v2/orders/{id}/confirm', '/api/v2/cart/{id}'],
  },
  {
    name: 'payments',
    logger: 'com.acme.payments.CaptureWorker',
    routes: ['/api/v1/payments', '/api/v1/payments/{id}/capture', '/api/v1/refunds'],
  },
  {
    name: 'inventory',
    logger: 'inventory.reservations',
    routes: ['/stock/{sku}', '/reservations', '/reservations/{id}/release'],
  },
  {
    name: 'accounts-db-proxy',
    logger: 'pgbouncer.pool',
    routes: ['/health', '/pools/{name}', '/clients'],
  },
];

const SEVERITIES = [
  { text: 'DEBUG', number: logs.SeverityNumber.SEVERITY_NUMBER_DEBUG, weight: 15 },
  { text: 'INFO', number: logs.SeverityNumber.SEVERITY_NUMBER_INFO, weight: 70 },
  { text: 'WARN', number: logs.SeverityNumber.SEVERITY_NUMBER_WARN, weight: 10 },
  { text: 'ERROR', number: logs.SeverityNumber.SEVERITY_NUMBER_ERROR, weight: 5 },
] as const;

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'] as const;
const STATUSES = [200, 200, 200, 200, 201, 204, 304, 400, 404, 409, 500, 503] as const;
const EVENTS = [
  'request completed',
  'order placed',
  'payment authorised',
  'stock reserved',
  'cache miss, loading from database',
  'slow query detected',
  'retrying upstream call',
  'connection returned to pool',
  'token refreshed',
  'validation failed for request body',
] as const;
const WORDS = (
  'customer cart item sku quantity price total currency discount coupon shipping address ' +
  'warehouse region zone tenant account session token upstream downstream timeout retry ' +
  'backoff pool connection statement transaction commit rollback lock wait index scan rows ' +
  'bytes latency queue worker batch partition offset lag replica primary'
).split(' ');
const HEADERS = [
  'user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"',
  'user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"',
  'user_agent="okhttp/4.12.0"',
  'accept="application/json" accept_encoding="gzip, deflate, br" content_type="application/json; charset=utf-8"',
  'x_forwarded_proto=https via="1.1 envoy" upstream_cluster=outbound|8080||svc.cluster.local',
  'tls=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 alpn=h2',
] as const;
const FRAMES = [
  'handle(RequestHandler.java',
  'process(Pipeline.java',
  'invoke(TransactionInterceptor.java',
  'execute(JdbcTemplate.java',
  'lambda$submit$0(AsyncExecutor.java',
  'run(ThreadPoolExecutor.java',
  'doFilter(AuthFilter.java',
] as const;
const QUERIES = [
  'SELECT o.id, o.status, o.total FROM orders o WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT 20',
  'UPDATE stock SET reserved = reserved + $1 WHERE sku = $2 AND warehouse_id = $3',
  'INSERT INTO payments (id, order_id, amount, currency, status) VALUES ($1, $2, $3, $4, $5)',
  'SELECT count(*) FROM sessions WHERE expires_at < now() AND tenant_id = $1',
] as const;

function logRecord(random: Random, service: Service, recordBytes: number): LogRecordProperties {
  const severity = weighted(random, SEVERITIES);
  const method = pick(random, METHODS);
  const route = pick(random, service.routes);
  const status = pick(random, STATUSES);
  const durationMs = Math.round(1 + random() ** 3 * 2000);
  const traced = random() < 0.8;
  return {
    timeUnixNano: TIME_SENTINEL,
    observedTimeUnixNano: TIME_SENTINEL,
    severityNumber: severity.number,
    severityText: severity.text,
    body: { stringValue: bodyText(random, service, severity.text, recordBytes) },
    attributes: [
      stringKv('http.request.method', method),
      stringKv('http.route', route),
      intKv('http.response.status_code', status),
      intKv('duration_ms', durationMs),
      stringKv('thread.name', `worker-${Math.floor(random() * 32)}`),
      stringKv('enduser.id', `cust_${Math.floor(random() * 1_000_000)}`),
    ],
    ...(traced ? { traceId: randomBytes(random, 16), spanId: randomBytes(random, 8), flags: 1 } : {}),
  };
}

/** Log text about `recordBytes` long: structured fields, free text, and for some records a SQL statement. */
function bodyText(random: Random, service: Service, level: string, recordBytes: number): string {
  const parts = [
    `${level} [${service.name}] ${pick(random, EVENTS)} seq=${SEQ_PLACEHOLDER}`,
    `request_id=${uuid(random)} order=ord_${hex(random, 8)} customer=cust_${Math.floor(random() * 1e6)}`,
    `amount=${(random() * 500).toFixed(2)} currency=${pick(random, ['EUR', 'USD', 'GBP'])} items=${1 + Math.floor(random() * 9)}`,
    `client=10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
  ];
  if (random() < 0.3) parts.push(`query="${pick(random, QUERIES)}" rows=${Math.floor(random() * 5000)}`);
  let text = parts.join(' ');
  while (text.length < recordBytes) text += ` ${detail(random, service)}`;
  return text.slice(0, Math.max(recordBytes, text.indexOf(SEQ_PLACEHOLDER) + SEQ_DIGITS));
}

/** Filler as real logs carry it: cart contents, request headers, stack frames, some random ids. */
function detail(random: Random, service: Service): string {
  const kind = random();
  if (kind < 0.35) {
    return `item={"sku":"SKU-${Math.floor(random() * 10_000)}","qty":${1 + Math.floor(random() * 4)},"unit_price":${(random() * 90).toFixed(2)}}`;
  }
  if (kind < 0.6) return `${pick(random, HEADERS)}`;
  if (kind < 0.85) return `at ${service.logger}.${pick(random, FRAMES)}:${20 + Math.floor(random() * 400)})`;
  return `${pick(random, WORDS)}=${hex(random, 6)}`;
}

function stringKv(key: string, value: string): KeyValueProperties {
  return { key, value: { stringValue: value } };
}

function intKv(key: string, value: number): KeyValueProperties {
  return { key, value: { intValue: Long.fromNumber(value) } };
}

type Random = () => number;

/** A seeded generator, so every run sends the same kind of text. */
function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

function weighted<T extends { weight: number }>(random: Random, values: readonly T[]): T {
  let left = random() * values.reduce((sum, value) => sum + value.weight, 0);
  for (const value of values) {
    left -= value.weight;
    if (left < 0) return value;
  }
  return values[values.length - 1] as T;
}

function randomBytes(random: Random, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

function hex(random: Random, bytes: number): string {
  return Buffer.from(randomBytes(random, bytes)).toString('hex');
}

function uuid(random: Random): string {
  const h = hex(random, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
