/**
 * The watched database a span or log record talks to, as the entity id the collectors give that
 * instance (src/collect/postgres/target.ts, src/collect/mysql/target.ts): `pg:<name>` and
 * `mysql:<name>` (MariaDB too), where an unnamed target's name is `<host>-<port>` made safe. A
 * client span of `SELECT …` against db.internal:5432 then belongs to `pg:db.internal-5432`, the
 * instance whose query statistics and plans the collector stores.
 */

/** `db.system` (semantic conventions before 1.26) or `db.system.name` (after) → the collectors' id prefix. */
const PREFIXES: Readonly<Record<string, { prefix: string; defaultPort: number }>> = {
  postgresql: { prefix: 'pg', defaultPort: 5432 },
  mysql: { prefix: 'mysql', defaultPort: 3306 },
  mariadb: { prefix: 'mysql', defaultPort: 3306 },
};

export const SYSTEM_KEYS = ['db.system.name', 'db.system'] as const;
/** Newest convention first: server.* replaced net.peer.* in 1.21, network.peer.* is the socket's address. */
const HOST_KEYS = ['server.address', 'net.peer.name', 'network.peer.address', 'net.sock.peer.addr'] as const;
const PORT_KEYS = ['server.port', 'net.peer.port', 'network.peer.port', 'net.sock.peer.port'] as const;

/**
 * Must stay equal to `safeName` in src/collect/target-common.ts (a test pins it): process may
 * not import collect, and the two ids must match character for character.
 */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

type Attributes = Readonly<Record<string, unknown>>;

function firstString(attributes: Attributes, keys: readonly string[]): string {
  for (const key of keys) {
    const value = attributes[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return '';
}

function firstPort(attributes: Attributes, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const value = attributes[key];
    const port = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    if (Number.isInteger(port) && port > 0 && port < 65_536) return port;
  }
  return undefined;
}

/**
 * The entity id of the database a record's attributes name, or '' when they name none this
 * product watches. `aliases` maps `host:port` to an entity id, for targets configured with a
 * name of their own (`pg:main`) or reached under another host name than the one the app uses.
 */
export function databaseEntityId(attributes: Attributes, aliases: Readonly<Record<string, string>>): string {
  const system = firstString(attributes, SYSTEM_KEYS).toLowerCase();
  const known = PREFIXES[system];
  if (known === undefined) return '';
  const host = firstString(attributes, HOST_KEYS);
  if (host === '') return '';
  const port = firstPort(attributes, PORT_KEYS) ?? known.defaultPort;
  const alias = aliases[`${host}:${port}`];
  if (alias !== undefined) return alias;
  return `${known.prefix}:${safeName(`${host}-${port}`)}`;
}
