import type { z } from 'zod';
import type { enrichStageSchema } from '../../config/stages/enrich.js';
import type { LogRow, MetricPointRow, RumEventRow, SpanRow } from '../../store/rows.js';
import { databaseEntityId, SYSTEM_KEYS } from './enrich/database-entity.js';
import { packagedGeoLookup, type GeoLookup } from './enrich/geoip.js';
import { LruCache } from './enrich/lru.js';
import { UserAgentParser, type UserAgentInfo } from './enrich/user-agent.js';
import type { Processor, RowBatch, RowKind, StageContext } from './processor.js';

export type EnrichOptions = Pick<
  z.infer<typeof enrichStageSchema>,
  'defaultService' | 'hostKeys' | 'databases' | 'geoip' | 'userAgent' | 'tags' | 'overwrite'
>;

export interface EnrichDeps {
  /** Where client addresses are located; the database shipped in the package unless a test gives another. */
  geo?: GeoLookup;
}

/** Why a row changed, as counted (a bounded set). */
type Reason = 'service' | 'host' | 'database' | 'geo' | 'user_agent' | 'tags';

type JsonObject = Record<string, unknown>;

/** What a resource gives its rows, worked out once per distinct resource text. */
interface ResourceInfo {
  /** The resource with tags and user-agent fields added; the same string when nothing was. */
  json: string;
  service: string;
  host: string;
  /** What was added to the resource, counted on every row that carries it. */
  reasons: readonly Reason[];
}

/** Distinct resources remembered per org: a message usually has one, a fleet a few hundred. */
const RESOURCE_CACHE_SIZE = 512;

/** A browser event's columns and the user-agent field each takes. */
const RUM_USER_AGENT_COLUMNS: ReadonlyArray<
  readonly ['browserName' | 'browserVersion' | 'osName' | 'osVersion' | 'deviceType', keyof UserAgentInfo]
> = [
  ['browserName', 'user_agent.name'],
  ['browserVersion', 'user_agent.version'],
  ['osName', 'user_agent.os.name'],
  ['osVersion', 'user_agent.os.version'],
  ['deviceType', 'user_agent.device.type'],
];

const GEO_COUNTRY = 'geo.country.iso_code';
const GEO_LOCALITY = 'geo.locality.name';

/**
 * A pattern for the JSON text of any of `keys` as it appears in an object (`"client.address"`),
 * or undefined for no keys. A value equal to a key matches too; that only costs a parse.
 */
function keyFilter(keys: readonly string[]): RegExp | undefined {
  if (keys.length === 0) return undefined;
  const escaped = keys.map((key) => JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(escaped.join('|'));
}

function parseObject(json: string): JsonObject | undefined {
  if (json === '' || json[0] !== '{') return undefined;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

function firstString(object: JsonObject, keys: readonly string[]): string {
  for (const key of keys) {
    const value = object[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return '';
}

/**
 * The `enrich` stage: fills in what records leave out and derives what they imply.
 *
 * - service and host columns left empty by the sender: `service.name` else `defaultService`
 *   (process/otlp-rows.ts already takes `service.name` and `host.name` from the resource; this
 *   adds the fallbacks, e.g. `k8s.node.name`);
 * - the entity id of the watched database a span or log describes a call to (`pg:<host>-<port>`),
 *   so a slow client span leads to that instance's statements and plans;
 * - `geo.country.iso_code` and `geo.locality.name` of a public client address (record attributes);
 * - `user_agent.*` from the User-Agent string (record attributes, and the resource, where the
 *   OpenTelemetry browser SDK puts it);
 * - static tags on every resource;
 * - browser events (RUM) get these in their own columns: service, browser, OS and device from the
 *   user agent, country and city from the client address (which the store then drops). They
 *   have no resource for tags, and no attributes are looked at.
 *
 * Attribute JSON is parsed only when its text contains one of the keys looked for. Bad JSON or a
 * value that is not an address leaves the record as it came; nothing here throws.
 */
export class EnrichStage implements Processor {
  readonly name = 'enrich';
  private readonly geo: GeoLookup | undefined;
  private readonly userAgents: UserAgentParser | undefined;
  private readonly resources = new LruCache<string, ResourceInfo>(RESOURCE_CACHE_SIZE);
  private readonly tagEntries: readonly (readonly [string, string])[];
  /**
   * Matches the text of an attributes object that holds one of the keys looked for: only such a
   * record is parsed. One alternation is several times faster than a `includes` per key.
   */
  private readonly attributeFilter: RegExp | undefined;
  private readonly userAgentFilter: RegExp | undefined;
  /** The rows of one resource carry the same string: the last one's info is one comparison away. */
  private lastResource: { json: string; info: ResourceInfo } | undefined;

  constructor(
    private readonly options: EnrichOptions,
    deps: EnrichDeps = {},
  ) {
    this.geo = options.geoip.enabled ? (deps.geo ?? packagedGeoLookup()) : undefined;
    this.userAgents = options.userAgent.enabled
      ? new UserAgentParser(options.userAgent.cacheSize)
      : undefined;
    this.tagEntries = Object.entries(options.tags);
    const userAgentKeys = this.userAgents === undefined ? [] : options.userAgent.keys;
    this.userAgentFilter = keyFilter(userAgentKeys);
    this.attributeFilter = keyFilter([
      ...(this.geo === undefined ? [] : options.geoip.addressKeys),
      ...userAgentKeys,
      ...(options.databases.link ? SYSTEM_KEYS : []),
    ]);
  }

  process(batch: RowBatch, context: StageContext): RowBatch {
    const counts = new Map<string, number>();
    const tally = (kind: RowKind, reasons: Iterable<Reason>): void => {
      for (const reason of reasons) {
        const key = `${kind}\u0000${reason}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    };
    const out: RowBatch = {
      ...batch,
      logs: batch.logs.length === 0 ? batch.logs : batch.logs.map((row) => this.record(row, 'logs', tally)),
      spans:
        batch.spans.length === 0 ? batch.spans : batch.spans.map((row) => this.record(row, 'spans', tally)),
      metricPoints:
        batch.metricPoints.length === 0
          ? batch.metricPoints
          : batch.metricPoints.map((row) => this.metricPoint(row, tally)),
      rumEvents:
        batch.rumEvents.length === 0
          ? batch.rumEvents
          : batch.rumEvents.map((row) => this.rumEvent(row, tally)),
    };
    for (const [key, n] of counts) {
      const [kind, reason] = key.split('\u0000') as [RowKind, Reason];
      context.count('changed', kind, reason, n);
    }
    return out;
  }

  /** A log or span: columns, resource, then its own attributes. */
  private record<Row extends LogRow | SpanRow>(
    row: Row,
    kind: RowKind,
    tally: (kind: RowKind, reasons: Iterable<Reason>) => void,
  ): Row {
    const reasons: Reason[] = [];
    let patch: Partial<LogRow & SpanRow>;
    try {
      patch = this.columns(row, reasons);
      const attributes = this.attributes(row.attributes, reasons);
      if (attributes !== undefined) {
        if (attributes.json !== row.attributes) patch.attributes = attributes.json;
        if (attributes.entityId !== '' && attributes.entityId !== row.entityId) {
          patch.entityId = attributes.entityId;
          reasons.push('database');
        }
      }
    } catch {
      // Nothing crosses a stage boundary as an exception (CONVENTIONS.md): a record this stage
      // cannot work out is stored as it came.
      return row;
    }
    if (reasons.length === 0) return row;
    tally(kind, reasons);
    return { ...row, ...patch };
  }

  private metricPoint(
    row: MetricPointRow,
    tally: (kind: RowKind, reasons: Iterable<Reason>) => void,
  ): MetricPointRow {
    const reasons: Reason[] = [];
    let patch: Partial<MetricPointRow>;
    try {
      patch = this.columns(row, reasons);
    } catch {
      return row;
    }
    if (reasons.length === 0) return row;
    tally('metricPoints', reasons);
    return { ...row, ...patch };
  }

  private rumEvent(row: RumEventRow, tally: (kind: RowKind, reasons: Iterable<Reason>) => void): RumEventRow {
    const reasons: Reason[] = [];
    const patch: Partial<RumEventRow> = {};
    const { overwrite } = this.options;
    try {
      if (row.service === '') {
        patch.service = this.options.defaultService;
        reasons.push('service');
      }
      if (this.userAgents !== undefined && row.userAgent !== '') {
        const info = this.userAgents.parse(row.userAgent);
        let changed = false;
        for (const [column, key] of RUM_USER_AGENT_COLUMNS) {
          const value = info[key];
          if (value === undefined || value === row[column] || (!overwrite && row[column] !== '')) continue;
          patch[column] = value;
          changed = true;
        }
        if (changed) reasons.push('user_agent');
      }
      if (
        this.geo !== undefined &&
        row.clientAddress !== '' &&
        (overwrite || (row.country === '' && row.city === ''))
      ) {
        const location = this.geo.locate(row.clientAddress);
        if (
          location !== undefined &&
          (location.countryIsoCode !== row.country || location.localityName !== row.city)
        ) {
          patch.country = location.countryIsoCode;
          patch.city = location.localityName;
          reasons.push('geo');
        }
      }
    } catch {
      return row;
    }
    if (reasons.length === 0) return row;
    tally('rumEvents', reasons);
    return { ...row, ...patch };
  }

  /** Service, host and resource, the same for every kind of row. */
  private columns(
    row: { service: string; host: string; resource: string },
    reasons: Reason[],
  ): { service?: string; host?: string; resource?: string } {
    const info = this.resourceInfo(row.resource);
    const patch: { service?: string; host?: string; resource?: string } = {};
    if (row.service === '') {
      patch.service = info.service !== '' ? info.service : this.options.defaultService;
      reasons.push('service');
    }
    if (row.host === '' && info.host !== '') {
      patch.host = info.host;
      reasons.push('host');
    }
    if (info.json !== row.resource) {
      patch.resource = info.json;
      reasons.push(...info.reasons);
    }
    return patch;
  }

  private resourceInfo(json: string): ResourceInfo {
    if (this.lastResource?.json === json) return this.lastResource.info;
    let info = this.resources.get(json);
    if (info === undefined) {
      info = this.computeResourceInfo(json);
      this.resources.set(json, info);
    }
    this.lastResource = { json, info };
    return info;
  }

  private computeResourceInfo(json: string): ResourceInfo {
    const resource = parseObject(json);
    if (resource === undefined) {
      // A resource that is not a JSON object is left as it is; tags need an object to go into.
      return { json, service: '', host: '', reasons: [] };
    }
    const reasons: Reason[] = [];
    if (this.addUserAgent(resource, json)) reasons.push('user_agent');
    let tagged = false;
    for (const [key, value] of this.tagEntries) {
      if (!this.options.overwrite && key in resource) continue;
      if (resource[key] === value) continue;
      resource[key] = value;
      tagged = true;
    }
    if (tagged) reasons.push('tags');
    return {
      json: reasons.length === 0 ? json : JSON.stringify(resource),
      service: firstString(resource, ['service.name']),
      host: firstString(resource, this.options.hostKeys),
      reasons,
    };
  }

  /**
   * A record's attributes with geo and user-agent fields added, and the database entity they
   * name; undefined when the text holds none of the keys looked for or is not a JSON object.
   */
  private attributes(json: string, reasons: Reason[]): { json: string; entityId: string } | undefined {
    if (this.attributeFilter?.test(json) !== true) return undefined;
    const attributes = parseObject(json);
    if (attributes === undefined) return undefined;
    let changed = false;
    if (this.addGeo(attributes)) {
      reasons.push('geo');
      changed = true;
    }
    if (this.addUserAgent(attributes, json)) {
      reasons.push('user_agent');
      changed = true;
    }
    const entityId = this.options.databases.link
      ? databaseEntityId(attributes, this.options.databases.aliases)
      : '';
    return { json: changed ? JSON.stringify(attributes) : json, entityId };
  }

  private addGeo(attributes: JsonObject): boolean {
    if (this.geo === undefined) return false;
    // A location the sender gave (or an earlier pass added) is kept unless told otherwise.
    if (!this.options.overwrite && (GEO_COUNTRY in attributes || GEO_LOCALITY in attributes)) return false;
    for (const key of this.options.geoip.addressKeys) {
      const value = attributes[key];
      if (typeof value !== 'string') continue;
      const location = this.geo.locate(value);
      if (location === undefined) continue;
      attributes[GEO_COUNTRY] = location.countryIsoCode;
      if (location.localityName !== '') attributes[GEO_LOCALITY] = location.localityName;
      else delete attributes[GEO_LOCALITY];
      return true;
    }
    return false;
  }

  private addUserAgent(object: JsonObject, json: string): boolean {
    if (this.userAgents === undefined) return false;
    const userAgent = firstString(object, this.options.userAgent.keys);
    if (userAgent === '') return false;
    // A key written with escapes (`"user\u005fagent.original"`) is not looked at, as the filter
    // says; text without a `\` holds each key of its object as the filter looks for it.
    if (json.includes('\\') && this.userAgentFilter?.test(json) !== true) return false;
    const info = this.userAgents.parse(userAgent);
    let changed = false;
    // for…in over the parser's plain object: the entries of Object.entries, without the arrays.
    for (const key in info) {
      const value = info[key as keyof UserAgentInfo];
      if (!this.options.overwrite && key in object) continue;
      if (object[key] === value) continue;
      object[key] = value;
      changed = true;
    }
    return changed;
  }
}

/** The `enrich` stage from its (org-merged) options; `deps` only for tests. */
export function createEnrichStage(options: EnrichOptions, deps?: EnrichDeps): Processor {
  return new EnrichStage(options, deps);
}
