import type { RedactStageOptions } from '../../config/stages/redact.js';
import type { LogRow, QuerySampleRow, QueryStatRow, RumEventRow, SpanRow } from '../../store/rows.js';
import type { Processor, RowBatch, RowKind, StageContext } from './processor.js';
import { Redactor, type WalkContext } from './redact/redactor.js';
import { addTo, marker, type Tally } from './redact/rules.js';
import { dialectOf, warmSqlParser, type SqlDialect } from './redact/sql.js';

/**
 * The stage's options as the config gives them (`z.infer<typeof redactStageSchema>`), or as the
 * chain passes them (merged for one org, without `orgs`). With `orgs`, the stage applies an org's
 * overrides itself.
 */
export type RedactOptions = Omit<RedactStageOptions, 'orgs'> & { orgs?: RedactStageOptions['orgs'] };

/**
 * Resolves when PostgreSQL's parser is loaded (or failed to load). Creating the stage starts the
 * load; until it is done, PostgreSQL statements get the parser's fallback scrubber, which removes
 * every quoted string and number. Await it at start-up for parser-exact statements from the first
 * message.
 */
export function redactStageReady(): Promise<void> {
  return warmSqlParser();
}

const FAILED_TEXT = marker('error');
const FAILED_MAP = '{}';

/**
 * The `redact` stage: removes personal data and secrets before rows reach the store.
 *
 * - Log bodies, log and span attributes, span events and status messages, query texts and plans
 *   go through the enabled detectors (email, payment cards with Luhn, IBAN with mod 97, US SSN,
 *   phone numbers, IPv4/IPv6, secrets) and the custom patterns; what they find becomes
 *   `[REDACTED:<rule>]`, e.g. `[REDACTED:email]`, `[REDACTED:credit_card]`, `[REDACTED:my_rule]`.
 *   Secrets keep their key or scheme: `password=[REDACTED:secret]`, `Bearer [REDACTED:secret]`,
 *   `https://user:[REDACTED:secret]@host`.
 * - Attribute keys on the blocklist have their whole value replaced by `[REDACTED:key_blocklist]`
 *   (booleans and nulls stay); keys on the allowlist are not looked at.
 * - Statements in `db.statement`, `db.query.text` and a log's `statement` lose their literals
 *   (PostgreSQL's parser when `db.system` says postgresql, else the MySQL tokenizer); query_stats
 *   and query_samples rows come from the collectors already shaped and only meet the detectors.
 * - Browser events (RUM): the page URL and its path, the referrer (each scanned percent-decoded:
 *   a form puts `john%40example.com` in a query string), the title, an error's message and stack,
 *   and the attributes.
 * - Metric points pass untouched (labels are bounded attribute sets, not free text).
 *
 * Counts: `context.count('changed', kind, rule, n)` once per rule and row kind per batch, `n` the
 * number of replacements (statements for `sql_literals`, values for `key_blocklist`). A field the
 * stage fails on is replaced whole (`[REDACTED:error]`, `{}` for a map) and counted as `error`:
 * the stage fails closed and never throws.
 */
export function createRedactStage(options: RedactOptions): Processor {
  const { orgs = {}, ...base } = options;
  const compiled = new Map<string, Redactor | null>();
  const compile = (settings: Omit<RedactStageOptions, 'orgs'>): Redactor | null => {
    if (!settings.enabled) return null;
    if (settings.sqlLiterals) void warmSqlParser();
    return new Redactor(settings);
  };
  const baseRedactor = compile(base);
  const redactorFor = (org: string): Redactor | null => {
    const override = orgs[org];
    if (override === undefined) return baseRedactor;
    let redactor = compiled.get(org);
    if (redactor === undefined) {
      // An override replaces the options it names whole (src/config/stages/stage.ts).
      redactor = compile({ ...base, ...definedOnly(override) });
      compiled.set(org, redactor);
    }
    return redactor;
  };

  return {
    name: 'redact',
    process(batch: RowBatch, context: StageContext): RowBatch {
      let redactor: Redactor | null;
      try {
        redactor = redactorFor(context.orgId);
      } catch {
        // Options that passed the schema compile; should one not, the org's rows pass as the base's.
        redactor = baseRedactor;
      }
      if (redactor === null) return batch;
      return {
        logs: redactRows(batch.logs, 'logs', context, (row, walk) => redactLog(redactor, row, walk)),
        spans: redactRows(batch.spans, 'spans', context, (row, walk) => redactSpan(redactor, row, walk)),
        metricPoints: batch.metricPoints,
        queryStats: redactRows(batch.queryStats, 'queryStats', context, (row, walk) =>
          redactQueryStat(redactor, row, walk),
        ),
        querySamples: redactRows(batch.querySamples, 'querySamples', context, (row, walk) =>
          redactQuerySample(redactor, row, walk),
        ),
        rumEvents: redactRows(batch.rumEvents, 'rumEvents', context, (row, walk) =>
          redactRumEvent(redactor, row, walk),
        ),
      };
    },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Redacts each row of one kind; a row comes back as the same object when nothing in it changed,
 * as a copy otherwise (the caller's rows are not modified). Reports the counts of the kind.
 */
function redactRows<Row>(
  rows: Row[],
  kind: RowKind,
  context: StageContext,
  redact: (row: Row, walk: RowWalk) => Row,
): Row[] {
  if (rows.length === 0) return rows;
  const tally: Tally = new Map();
  const walk = new RowWalk(tally);
  const out = rows.map((row) => redact(row, walk.reset()));
  for (const [rule, n] of tally) context.count('changed', kind, rule, n);
  return out;
}

/** The walk context of one row: counts, and the dialect of its statements read from the row once. */
class RowWalk implements WalkContext {
  resource = '';
  private system: SqlDialect | undefined;

  constructor(readonly tally: Tally) {}

  reset(resource = ''): this {
    this.resource = resource;
    this.system = undefined;
    return this;
  }

  readonly dialect = (root: unknown): SqlDialect => {
    this.system ??= dialectOf(systemOf(root) ?? systemOf(parseResource(this.resource)));
    return this.system;
  };

  /** Runs one field's redaction; a failure replaces the field and is counted, never thrown. */
  field(value: string, redact: () => string, failed: string): string {
    try {
      return redact();
    } catch {
      addTo(this.tally, 'error');
      return value === '' ? value : failed;
    }
  }
}

/** `db.system` / `db.system.name` (OTel semconv), else the engine of a Sightline entity id (`postgres:…`). */
function systemOf(map: unknown): string | undefined {
  if (typeof map !== 'object' || map === null) return undefined;
  const record = map as Record<string, unknown>;
  for (const key of ['db.system', 'db.system.name']) {
    const value = record[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  const entity = record['sightline.entity.id'];
  if (typeof entity === 'string') return entity.split(':', 1)[0];
  return undefined;
}

function parseResource(resource: string): unknown {
  if (!resource.includes('db.system') && !resource.includes('sightline.entity.id')) return undefined;
  try {
    return JSON.parse(resource);
  } catch {
    return undefined;
  }
}

function redactLog(redactor: Redactor, row: LogRow, walk: RowWalk): LogRow {
  walk.reset(row.resource);
  const body = walk.field(row.body, () => redactor.jsonOrText(row.body, walk), FAILED_TEXT);
  const attributes = walk.field(row.attributes, () => redactor.attributes(row.attributes, walk), FAILED_MAP);
  if (body === row.body && attributes === row.attributes) return row;
  return { ...row, body, attributes };
}

function redactSpan(redactor: Redactor, row: SpanRow, walk: RowWalk): SpanRow {
  walk.reset(row.resource);
  const attributes = walk.field(row.attributes, () => redactor.attributes(row.attributes, walk), FAILED_MAP);
  const events = walk.field(row.events, () => redactor.jsonOrText(row.events, walk), '[]');
  const statusMessage = walk.field(
    row.statusMessage,
    () => redactor.text(row.statusMessage, walk.tally),
    FAILED_TEXT,
  );
  if (attributes === row.attributes && events === row.events && statusMessage === row.statusMessage)
    return row;
  return { ...row, attributes, events, statusMessage };
}

function redactQueryStat(redactor: Redactor, row: QueryStatRow, walk: RowWalk): QueryStatRow {
  const query = walk.field(row.query, () => redactor.text(row.query, walk.tally), FAILED_TEXT);
  return query === row.query ? row : { ...row, query };
}

function redactQuerySample(redactor: Redactor, row: QuerySampleRow, walk: RowWalk): QuerySampleRow {
  const query = walk.field(row.query, () => redactor.text(row.query, walk.tally), FAILED_TEXT);
  const plan = walk.field(row.plan, () => redactor.jsonOrText(row.plan, walk), FAILED_TEXT);
  if (query === row.query && plan === row.plan) return row;
  return { ...row, query, plan };
}

function redactRumEvent(redactor: Redactor, row: RumEventRow, walk: RowWalk): RumEventRow {
  walk.reset();
  const text = (value: string): string =>
    walk.field(value, () => redactor.text(value, walk.tally), FAILED_TEXT);
  // A URL is scanned decoded: forms put `john%40example.com` in query strings. It stays encoded
  // unless something is found in it.
  const link = (value: string): string => {
    const decoded = decodedUrl(value);
    if (decoded === value) return text(value);
    const redacted = text(decoded);
    return redacted === decoded ? value : redacted;
  };
  const url = link(row.url);
  const urlPath = link(row.urlPath);
  const referrer = link(row.referrer);
  const title = text(row.title);
  const message = text(row.message);
  const stack = text(row.stack);
  const attributes = walk.field(row.attributes, () => redactor.attributes(row.attributes, walk), FAILED_MAP);
  if (
    url === row.url &&
    urlPath === row.urlPath &&
    referrer === row.referrer &&
    title === row.title &&
    message === row.message &&
    stack === row.stack &&
    attributes === row.attributes
  )
    return row;
  return { ...row, url, urlPath, referrer, title, message, stack, attributes };
}

function decodedUrl(url: string): string {
  if (!url.includes('%')) return url;
  try {
    return decodeURIComponent(url);
  } catch {
    // A malformed escape: scanned as it is.
    return url;
  }
}
