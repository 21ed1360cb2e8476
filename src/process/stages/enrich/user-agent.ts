import { createRequire } from 'node:module';
import { LruCache } from './lru.js';

/**
 * User-agent strings parsed by ua-parser-js 1.x. Pinned to 1.x on purpose: 1.x is MIT, 2.x is
 * AGPL-3.0 (ua-parser-js issue #680), which Sightline's Apache-2.0 users could not accept.
 */

/** What a user-agent string says, under OpenTelemetry's `user_agent.*` attribute names. Absent parts are left out. */
export interface UserAgentInfo {
  'user_agent.name'?: string;
  'user_agent.version'?: string;
  'user_agent.os.name'?: string;
  'user_agent.os.version'?: string;
  /** ua-parser's device type: mobile, tablet, smarttv, wearable, console, embedded (none for a desktop browser). */
  'user_agent.device.type'?: string;
}

/** The part of ua-parser-js 1.x used here (the package ships no types). */
interface UaParserInstance {
  setUA(ua: string): UaParserInstance;
  getBrowser(): { name?: string; version?: string };
  getOS(): { name?: string; version?: string };
  getDevice(): { type?: string };
}
type UaParserConstructor = new () => UaParserInstance;

/** ua-parser reads at most this many characters (its UA_MAX_LENGTH), so longer keys would only cost memory. */
const MAX_UA_LENGTH = 500;

/** The parser class once loaded; null when loading failed (tried once, not per record). */
let parserClass: UaParserConstructor | null | undefined;

function loadParser(): UaParserConstructor | null {
  if (parserClass !== undefined) return parserClass;
  try {
    // Loaded on the first user agent, so a pipeline that never sees one never loads its regexes.
    parserClass = createRequire(import.meta.url)('ua-parser-js') as UaParserConstructor;
  } catch {
    parserClass = null;
  }
  return parserClass;
}

export class UserAgentParser {
  private parser: UaParserInstance | undefined;
  private readonly cache: LruCache<string, UserAgentInfo>;

  /** `cacheSize` results are kept, keyed by the (truncated) string: most traffic comes from few browsers. */
  constructor(cacheSize: number) {
    this.cache = new LruCache(cacheSize);
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  parse(userAgent: string): UserAgentInfo {
    const key = userAgent.length > MAX_UA_LENGTH ? userAgent.slice(0, MAX_UA_LENGTH) : userAgent;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const info = this.uncached(key);
    this.cache.set(key, info);
    return info;
  }

  private uncached(userAgent: string): UserAgentInfo {
    const info: UserAgentInfo = {};
    if (userAgent.trim() === '') return info;
    if (this.parser === undefined) {
      const Parser = loadParser();
      if (Parser === null) return info;
      this.parser = new Parser();
    }
    try {
      const parser = this.parser.setUA(userAgent);
      const browser = parser.getBrowser();
      const os = parser.getOS();
      const device = parser.getDevice();
      if (nonEmpty(browser.name)) info['user_agent.name'] = browser.name;
      if (nonEmpty(browser.version)) info['user_agent.version'] = browser.version;
      if (nonEmpty(os.name)) info['user_agent.os.name'] = os.name;
      if (nonEmpty(os.version)) info['user_agent.os.version'] = os.version;
      if (nonEmpty(device.type)) info['user_agent.device.type'] = device.type;
    } catch {
      // A string the parser chokes on yields nothing, not a lost record.
    }
    return info;
  }
}

function nonEmpty(value: string | undefined): value is string {
  return typeof value === 'string' && value !== '';
}
