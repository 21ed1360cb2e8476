import { z } from 'zod';
import { stageSchema } from './stage.js';

const key = z.string().min(1);

/**
 * The `enrich` stage's options (see src/process/stages/enrich.ts). Everything it adds goes under
 * OpenTelemetry semantic-convention names; what a record already carries wins unless `overwrite`.
 */
export const enrichStageSchema = stageSchema('enrich', {
  /** The service of a record whose resource names none (no `service.name`): the OpenTelemetry SDKs' own default. */
  defaultService: key.max(256).default('unknown_service'),
  /** Resource attributes that name the host, tried in order, for a record whose host column is empty. */
  hostKeys: z.array(key).max(16).default(['host.name', 'k8s.node.name']),
  databases: z
    .strictObject({
      /**
       * Give spans and logs that describe a database call (`db.system`/`db.system.name` of
       * postgresql, mysql or mariadb, with `server.address` or `net.peer.name`) the entity id the
       * collector uses for that instance: `pg:<host>-<port>`, `mysql:<host>-<port>`.
       */
      link: z.boolean().default(true),
      /**
       * `host:port` as the application names the server → entity id, for a target with a name of
       * its own (`{ "db.internal:5432": "pg:main" }`) or one the collector reaches by another name.
       */
      aliases: z.record(key, key).default({}),
    })
    .prefault({}),
  geoip: z
    .strictObject({
      /**
       * Add `geo.country.iso_code` and `geo.locality.name` (the city) for a public client address,
       * from the DB-IP Lite database shipped in the package (CC BY 4.0). The database is read
       * into memory on the first address of each family: about 63 MB for IPv4, 71 MB for IPv6.
       */
      enabled: z.boolean().default(true),
      /** Record attributes holding the client's address, tried in order; the first that parses as an IP is located. */
      addressKeys: z
        .array(key)
        .min(1)
        .max(16)
        .default(['client.address', 'http.client_ip', 'net.peer.ip', 'source.address']),
    })
    .prefault({}),
  userAgent: z
    .strictObject({
      /** Add `user_agent.name`, `user_agent.version`, `user_agent.os.name`, `user_agent.os.version`, `user_agent.device.type`. */
      enabled: z.boolean().default(true),
      /** Attributes holding the User-Agent header, tried in order (record attributes, then resource). */
      keys: z.array(key).min(1).max(16).default(['user_agent.original', 'http.user_agent']),
      /** Parsed user agents remembered per org, least recently used forgotten first; 0 parses every time. */
      cacheSize: z.int().min(0).max(1_000_000).default(10_000),
    })
    .prefault({}),
  /**
   * Static attributes added to the resource of every log, span and metric point (`{ env: prod }`):
   * a resource describes where telemetry comes from, and adding there leaves metric series as
   * they are (their labels are the point's attributes).
   */
  tags: z.record(key, z.string().max(4096)).default({}),
  /** Whether tags, `geo.*` and `user_agent.*` replace values a record already has under the same name. */
  overwrite: z.boolean().default(false),
});
