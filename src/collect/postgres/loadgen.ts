/**
 * A load simulator for PostgreSQL: creates a small schema of its own and runs a weighted mix of
 * statements against it at a fixed rate, so demos and tests have fast reads, slow scans, writes,
 * blocked sessions, errors and idle-in-transaction sessions to look at.
 *
 * The engine has no CLI parsing: `runLoad()` is driven by `sightline loadgen postgres`, the
 * integration tests and the benchmark. `driveLoad()` is the scheduling core with the database
 * behind an interface, so its rate control is tested without a server.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export const LOAD_KINDS = ['point', 'scan', 'write', 'lock', 'error', 'idle'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];
/** Relative weights; a kind with weight 0 never runs. */
export type LoadMix = Record<LoadKind, number>;
export type KindCounts = Record<LoadKind, number>;

export const KIND_DESCRIPTIONS: Record<LoadKind, string> = {
  point: 'fast read of one account by primary key, with the id inlined as a random literal',
  scan: 'sequential scan of accounts with a LIKE predicate no index serves, plus pg_sleep(0.05-0.2)',
  write: 'in turn: insert an order, update an account balance, insert an event',
  lock: 'one connection updates an account and holds the row lock 1-2 s in a transaction; a second updates the same row and is blocked until then',
  error: 'in turn: division by zero, duplicate primary key (unique violation); counted as errors',
  idle: 'BEGIN, read one account, stay idle in transaction ~2 s, COMMIT',
};

/**
 * Keeps about 1.5 of the default 4 connections busy at the default 50/s (estimateBusyConnections):
 * lock and idle hold connections for seconds, so heavier weights for them need more connections.
 */
export const DEFAULT_MIX: LoadMix = { point: 75, scan: 2, write: 20, lock: 0.5, error: 2, idle: 0.5 };

export const DEFAULTS = {
  schema: 'sightline_loadgen',
  scale: 10_000,
  rate: 50,
  connections: 4,
} as const;

export const APPLICATION_NAME = 'sightline-loadgen';
/** Stored as the schema comment: loadgen only uses, and only drops, schemas that carry it. */
export const SCHEMA_MARKER = 'created by sightline loadgen; safe to drop';
/** Never read by any statement of the mix, so "unused indexes" always has an entry. */
export const UNUSED_INDEX = 'accounts_region_created_at_idx';

export const LIMITS = {
  rate: { min: 0.1, max: 100_000 },
  connections: { min: 1, max: 500 },
  scale: { min: 1, max: 10_000_000 },
  durationS: { max: 366 * 24 * 3600 },
} as const;

export interface LoadOptions {
  /** postgresql://user:password@host:port/database */
  url: string;
  schema?: string;
  /** Rows in accounts (orders get one per account when accounts are created). */
  scale?: number;
  /** Operations per second over all kinds. */
  rate?: number;
  /** Seconds; undefined runs until the signal aborts. */
  durationS?: number;
  /** Upper bound on open connections and on operations in flight (lock needs two). */
  connections?: number;
  mix?: LoadMix;
  /** Drop the schema (only if loadgen created it) and create it again. */
  reset?: boolean;
}

export interface LoadProgress {
  elapsedS: number;
  statements: KindCounts;
  /** Failed operations, the deliberate ones of the error kind included. */
  errors: number;
  unexpectedErrors: number;
  /** Ticks that found every connection busy and were dropped instead of queued. */
  skipped: number;
  /** Connections held by operations in flight (at most `connections`). */
  busyConnections: number;
  /** Completed operations per second since the start. */
  rate: number;
}

export interface LoadSummary {
  durationS: number;
  /** Completed operations per kind (failed ones included); lock and idle count once per transaction. */
  statements: KindCounts;
  errors: number;
  rate: number;
  skipped: number;
  unexpectedErrors: number;
  firstUnexpectedError?: string;
}

export interface SchemaInfo {
  schema: string;
  /** The schema name as written in SQL: quoted only if it has to be. */
  identifier: string;
  /** The schema did not exist (or --reset dropped it) and was created now. */
  created: boolean;
  accounts: number;
  insertedAccounts: number;
}

export interface LoadHooks {
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  /** Called once the schema is ready, before the first statement. */
  onReady?: (info: SchemaInfo) => void;
}

export type LoadgenErrorCode =
  | 'SL_ERR_LOADGEN_OPTIONS'
  | 'SL_ERR_LOADGEN_CONNECT'
  | 'SL_ERR_LOADGEN_CONNECTION_LOST'
  | 'SL_ERR_LOADGEN_SCHEMA'
  /** --schema names a schema that exists without loadgen's marker. */
  | 'SL_ERR_LOADGEN_SCHEMA_NOT_OURS';

export class LoadgenError extends Error {
  readonly code: LoadgenErrorCode;
  /** What ran before a lost connection stopped the run. */
  readonly summary: LoadSummary | undefined;

  constructor(
    code: LoadgenErrorCode,
    message: string,
    options: { cause?: unknown; summary?: LoadSummary } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LoadgenError';
    this.code = code;
    this.summary = options.summary;
  }
}

export function isLoadgenError(error: unknown): error is LoadgenError {
  return error instanceof LoadgenError;
}

// ---------------------------------------------------------------------------------------------
// Options

/** Parses `point=60,scan=5,...`; kinds left out get weight 0. */
export function parseMix(text: string): LoadMix {
  const mix: LoadMix = { point: 0, scan: 0, write: 0, lock: 0, error: 0, idle: 0 };
  const seen = new Set<string>();
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.every((entry) => entry === '')) {
    throw new LoadgenError(
      'SL_ERR_LOADGEN_OPTIONS',
      `the mix is empty; write it as ${formatMix(DEFAULT_MIX)}`,
    );
  }
  // A trailing or doubled comma is a harmless slip, not a different mix.
  for (const entry of entries.filter((e) => e !== '')) {
    const match = /^([a-z]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)$/.exec(entry);
    if (!match) {
      throw new LoadgenError(
        'SL_ERR_LOADGEN_OPTIONS',
        `"${entry}" in the mix is not kind=weight (a non-negative number); example: ${formatMix(DEFAULT_MIX)}`,
      );
    }
    const [, kind = '', weight = ''] = match;
    if (!isLoadKind(kind)) {
      throw new LoadgenError(
        'SL_ERR_LOADGEN_OPTIONS',
        `"${kind}" in the mix is not a kind; the kinds are ${LOAD_KINDS.join(', ')}`,
      );
    }
    if (seen.has(kind)) {
      throw new LoadgenError('SL_ERR_LOADGEN_OPTIONS', `"${kind}" appears twice in the mix; give it once`);
    }
    seen.add(kind);
    mix[kind] = Number(weight);
  }
  checkMix(mix);
  return mix;
}

export function formatMix(mix: LoadMix): string {
  return LOAD_KINDS.map((kind) => `${kind}=${mix[kind]}`).join(',');
}

function isLoadKind(name: string): name is LoadKind {
  return (LOAD_KINDS as readonly string[]).includes(name);
}

function checkMix(mix: LoadMix): void {
  for (const kind of LOAD_KINDS) {
    if (!Number.isFinite(mix[kind]) || mix[kind] < 0) {
      throw new LoadgenError(
        'SL_ERR_LOADGEN_OPTIONS',
        `the weight of ${kind} is ${mix[kind]}; weights are non-negative numbers`,
      );
    }
  }
  if (totalWeight(mix) <= 0) {
    throw new LoadgenError(
      'SL_ERR_LOADGEN_OPTIONS',
      'every weight in the mix is 0; give at least one kind a weight',
    );
  }
}

function totalWeight(mix: LoadMix): number {
  return LOAD_KINDS.reduce((sum, kind) => sum + mix[kind], 0);
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface ResolvedLoadOptions {
  url: string;
  schema: string;
  scale: number;
  rate: number;
  durationS: number | undefined;
  connections: number;
  mix: LoadMix;
  reset: boolean;
}

/** Fills defaults and checks ranges; throws SL_ERR_LOADGEN_OPTIONS naming the option. */
export function resolveLoadOptions(options: LoadOptions): ResolvedLoadOptions {
  const invalid = (message: string): never => {
    throw new LoadgenError('SL_ERR_LOADGEN_OPTIONS', message);
  };
  const resolved: ResolvedLoadOptions = {
    url: options.url,
    schema: options.schema ?? DEFAULTS.schema,
    scale: options.scale ?? DEFAULTS.scale,
    rate: options.rate ?? DEFAULTS.rate,
    durationS: options.durationS,
    connections: options.connections ?? DEFAULTS.connections,
    mix: { ...(options.mix ?? DEFAULT_MIX) },
    reset: options.reset ?? false,
  };
  if (!/^postgres(ql)?:\/\//.test(resolved.url)) {
    invalid('url must be a postgresql:// (or postgres://) connection URL');
  }
  if (!SCHEMA_NAME.test(resolved.schema) || /^(pg_|information_schema$|public$)/.test(resolved.schema)) {
    invalid(
      `schema "${resolved.schema}" is not usable: use lower-case letters, digits and _ (at most 63), ` +
        'not public, information_schema or a pg_ name',
    );
  }
  const { rate, connections, scale } = LIMITS;
  if (!Number.isInteger(resolved.scale) || resolved.scale < scale.min || resolved.scale > scale.max) {
    invalid(`scale is ${resolved.scale}; it must be a whole number from ${scale.min} to ${scale.max}`);
  }
  if (!Number.isFinite(resolved.rate) || resolved.rate < rate.min || resolved.rate > rate.max) {
    invalid(`rate is ${resolved.rate}; it must be from ${rate.min} to ${rate.max} statements per second`);
  }
  if (
    resolved.durationS !== undefined &&
    (!Number.isFinite(resolved.durationS) ||
      resolved.durationS <= 0 ||
      resolved.durationS > LIMITS.durationS.max)
  ) {
    invalid(`duration is ${resolved.durationS}; it must be more than 0 and at most a year, in seconds`);
  }
  if (
    !Number.isInteger(resolved.connections) ||
    resolved.connections < connections.min ||
    resolved.connections > connections.max
  ) {
    invalid(
      `connections is ${resolved.connections}; it must be a whole number from ${connections.min} to ${connections.max}`,
    );
  }
  checkMix(resolved.mix);
  if (resolved.mix.lock > 0 && resolved.connections < 2) {
    invalid(
      'the lock kind needs two connections at once; use at least 2 connections or set lock=0 in the mix',
    );
  }
  return resolved;
}

// ---------------------------------------------------------------------------------------------
// Scheduling math

/**
 * Smooth weighted round-robin (the nginx upstream algorithm): over any run of `total weight`
 * picks each kind comes up exactly `weight` times, spread evenly. Even spacing matters here
 * because lock and idle hold connections for seconds; random bunching would starve the pool.
 */
export function createKindPicker(mix: LoadMix): () => LoadKind {
  checkMix(mix);
  const kinds = LOAD_KINDS.filter((kind) => mix[kind] > 0);
  const total = totalWeight(mix);
  const current = new Map<LoadKind, number>(kinds.map((kind) => [kind, 0]));
  return () => {
    let best: LoadKind | undefined;
    let bestValue = -Infinity;
    for (const kind of kinds) {
      const value = (current.get(kind) ?? 0) + mix[kind];
      current.set(kind, value);
      if (value > bestValue) {
        best = kind;
        bestValue = value;
      }
    }
    // checkMix guarantees at least one kind with a positive weight.
    const chosen = best as LoadKind;
    current.set(chosen, bestValue - total);
    return chosen;
  };
}

/** When tick `n` (from 0) is due: absolute, so late wake-ups never push later ticks back. */
export function tickDueAt(startMs: number, tick: number, rate: number): number {
  return startMs + (tick * 1000) / rate;
}

/** Ticks due in [0, durationS): the number of operations a run that keeps up performs. */
export function ticksInDuration(rate: number, durationS: number): number {
  // The epsilon absorbs float noise such as 0.1 * 30 = 3.0000000000000004.
  return Math.max(0, Math.ceil(rate * durationS - 1e-9));
}

/**
 * Rough connection-seconds one operation holds, from runs against a local PostgreSQL 15: scan is
 * its average pg_sleep plus the scan; lock holds two connections ~1.5 s each; idle waits ~2 s.
 */
export const TYPICAL_HOLD_S: Record<LoadKind, number> = {
  point: 0.0005,
  scan: 0.15,
  write: 0.001,
  lock: 3,
  error: 0.001,
  idle: 2,
};

/** Connections busy on average at `rate` (Little's law); above `connections`, ticks get skipped. */
export function estimateBusyConnections(mix: LoadMix, rate: number): number {
  const total = totalWeight(mix);
  return LOAD_KINDS.reduce((sum, kind) => sum + (rate * mix[kind] * TYPICAL_HOLD_S[kind]) / total, 0);
}

// ---------------------------------------------------------------------------------------------
// The scheduling core

export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Resolves after `ms`, or early (never rejecting) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => pause(ms, signal),
};

/** Sleeps `ms` or until `signal` aborts, whichever comes first; never rejects. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return;
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted: the caller re-checks its state.
  }
}

export type Outcome =
  | { status: 'ok' }
  /** `expected`: the error kind failing as designed. `connection`: the server could not be reached. */
  | { status: 'failed'; expected: boolean; connection: boolean; message: string };

export interface LoadExecutor {
  /** Connections one operation of `kind` holds at once. */
  connectionsFor(kind: LoadKind): number;
  /** Runs one operation; resolves (never rejects) with its outcome. `stopping` cuts deliberate waits short. */
  execute(kind: LoadKind, stopping: AbortSignal): Promise<Outcome>;
}

export interface LoadPlan {
  rate: number;
  durationS: number | undefined;
  connections: number;
  mix: LoadMix;
}

/** A run stops when the server has been unreachable this long with nothing succeeding. */
const CONNECTION_LOST_AFTER_MS = 5_000;

/**
 * Fires ticks at absolute times `start + n / rate`, launches each tick's operation when enough
 * connections are free and otherwise counts it as skipped: in-flight work never exceeds
 * `connections`, so a slow server gets fewer operations, not a growing backlog.
 */
export async function driveLoad(
  plan: LoadPlan,
  executor: LoadExecutor,
  hooks: Omit<LoadHooks, 'onReady'> = {},
  clock: Clock = systemClock,
): Promise<LoadSummary> {
  const pick = createKindPicker(plan.mix);
  const stopping = new AbortController();
  const onAbort = (): void => stopping.abort();
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  if (hooks.signal?.aborted) stopping.abort();

  const statements = zeroCounts();
  let errors = 0;
  let unexpectedErrors = 0;
  let firstUnexpectedError: string | undefined;
  let skipped = 0;
  let busy = 0;
  const inFlight = new Set<Promise<void>>();
  const start = clock.now();
  const endAt = plan.durationS === undefined ? Infinity : start + plan.durationS * 1000;
  let lastSuccessAt = start;
  let connectionFailuresSinceSuccess = 0;
  let lost: string | undefined;

  const completed = (): number => LOAD_KINDS.reduce((sum, kind) => sum + statements[kind], 0);
  const elapsedS = (): number => Math.max(0, clock.now() - start) / 1000;

  const finish = (kind: LoadKind, outcome: Outcome): void => {
    statements[kind]++;
    if (outcome.status === 'ok') {
      lastSuccessAt = clock.now();
      connectionFailuresSinceSuccess = 0;
      return;
    }
    errors++;
    if (outcome.expected) {
      lastSuccessAt = clock.now();
      connectionFailuresSinceSuccess = 0;
      return;
    }
    unexpectedErrors++;
    firstUnexpectedError ??= `${kind}: ${outcome.message}`;
    if (outcome.connection) {
      connectionFailuresSinceSuccess++;
      if (
        connectionFailuresSinceSuccess >= Math.max(3, plan.connections) &&
        clock.now() - lastSuccessAt >= CONNECTION_LOST_AFTER_MS
      ) {
        lost ??= outcome.message;
        stopping.abort();
      }
    }
  };

  const launch = (kind: LoadKind): void => {
    const needed = executor.connectionsFor(kind);
    if (busy + needed > plan.connections) {
      skipped++;
      return;
    }
    busy += needed;
    const running: Promise<void> = executor
      .execute(kind, stopping.signal)
      .catch((error: unknown): Outcome => ({
        // execute() promises not to reject; if it does anyway, count it rather than lose the slot.
        status: 'failed',
        expected: false,
        connection: false,
        message: messageOf(error),
      }))
      .then((outcome) => {
        busy -= needed;
        inFlight.delete(running);
        finish(kind, outcome);
      });
    inFlight.add(running);
  };

  const progressLoop = async (): Promise<void> => {
    if (!hooks.onProgress) return;
    let second = 1;
    while (!stopping.signal.aborted) {
      // Timers may wake a fraction of a millisecond early on this clock; sleep out the remainder.
      while (!stopping.signal.aborted && clock.now() < start + second * 1000) {
        await clock.sleep(start + second * 1000 - clock.now(), stopping.signal);
      }
      if (stopping.signal.aborted) break;
      const elapsed = elapsedS();
      // After a stall, report once and resume on the next whole second rather than replaying the missed ones.
      second = Math.max(second, Math.floor(elapsed)) + 1;
      hooks.onProgress({
        elapsedS: round(elapsed, 3),
        statements: { ...statements },
        errors,
        unexpectedErrors,
        skipped,
        busyConnections: busy,
        rate: round(elapsed > 0 ? completed() / elapsed : 0, 1),
      });
    }
  };
  const progress = progressLoop();

  try {
    for (let tick = 0; !stopping.signal.aborted; tick++) {
      const dueAt = tickDueAt(start, tick, plan.rate);
      if (dueAt >= endAt) {
        // Keep the window whole: a slow rate's last tick comes well before the end.
        await clock.sleep(endAt - clock.now(), stopping.signal);
        break;
      }
      while (!stopping.signal.aborted && clock.now() < dueAt) {
        await clock.sleep(dueAt - clock.now(), stopping.signal);
      }
      if (stopping.signal.aborted) break;
      launch(pick());
    }
  } finally {
    stopping.abort();
    hooks.signal?.removeEventListener('abort', onAbort);
    while (inFlight.size > 0) await Promise.all(inFlight);
    await progress;
  }

  const durationS = elapsedS();
  const summary: LoadSummary = {
    durationS: round(durationS, 3),
    statements,
    errors,
    rate: round(durationS > 0 ? completed() / durationS : 0, 1),
    skipped,
    unexpectedErrors,
    ...(firstUnexpectedError === undefined ? {} : { firstUnexpectedError }),
  };
  if (lost !== undefined) {
    throw new LoadgenError(
      'SL_ERR_LOADGEN_CONNECTION_LOST',
      `lost the connection to PostgreSQL: nothing succeeded for ${CONNECTION_LOST_AFTER_MS / 1000} s (last error: ${lost}); ` +
        'check that the server is still running and reachable',
      { summary },
    );
  }
  return summary;
}

function zeroCounts(): KindCounts {
  return { point: 0, scan: 0, write: 0, lock: 0, error: 0, idle: 0 };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/**
 * Runs the mix against `options.url` until `options.durationS` passes or `hooks.signal` aborts,
 * then lets in-flight operations finish (cutting deliberate waits short) and returns the counts.
 */
export async function runLoad(options: LoadOptions, hooks: LoadHooks = {}): Promise<LoadSummary> {
  const resolved = resolveLoadOptions(options);
  const target = describeTarget(resolved.url);
  const pool = new pg.Pool({
    connectionString: resolved.url,
    application_name: APPLICATION_NAME,
    max: resolved.connections,
    connectionTimeoutMillis: 10_000,
    // Safety nets: nothing in the mix runs or waits this long, and a crashed run must not leave locks behind.
    statement_timeout: 30_000,
    lock_timeout: 10_000,
    idle_in_transaction_session_timeout: 30_000,
  });
  // An idle pooled connection the server closes is reported here, and without a listener it would crash
  // the process; the pool has already discarded it and the next checkout opens a new one.
  pool.on('error', () => undefined);
  try {
    let setupClient: pg.PoolClient;
    try {
      setupClient = await pool.connect();
    } catch (error) {
      throw connectError(error, target);
    }
    let info: SchemaInfo;
    try {
      info = await prepareSchema(setupClient, resolved);
      setupClient.release();
    } catch (error) {
      setupClient.release(true);
      throw error;
    }
    hooks.onReady?.(info);
    const executor = new PostgresExecutor(pool, info.identifier, info.accounts);
    return await driveLoad(resolved, executor, hooks);
  } finally {
    await pool.end();
  }
}

interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
}

function describeTarget(url: string): Target {
  let probe: pg.Client;
  try {
    // pg.Client resolves the URL and the PG* environment defaults exactly as the pool will; it does not connect.
    probe = new pg.Client({ connectionString: url });
  } catch (error) {
    throw new LoadgenError(
      'SL_ERR_LOADGEN_OPTIONS',
      `url is not a valid connection URL: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  return {
    host: probe.host,
    port: probe.port,
    database: probe.database ?? '',
    user: probe.user ?? '',
  };
}

function connectError(error: unknown, target: Target): LoadgenError {
  const where = target.host.startsWith('/')
    ? `the socket in ${target.host} (port ${target.port})`
    : `${target.host}:${target.port}`;
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  let what: string;
  switch (code) {
    case 'ECONNREFUSED':
      what =
        'connection refused, nothing listens there; check that PostgreSQL is running and the host and port in --url ' +
        '(listen_addresses and port in postgresql.conf)';
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      what = `the host name ${target.host} does not resolve; check the host in --url`;
      break;
    case 'ENOENT':
      what =
        'there is no socket at that path; check that PostgreSQL is running and the host and port in --url';
      break;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      what = `${message}; check the host and port in --url and any firewall in between`;
      break;
    case '28P01':
      what = `password authentication failed for user "${target.user}"; check the user and password in --url`;
      break;
    case '28000':
      what = `${message}; check that pg_hba.conf admits this client, user and database`;
      break;
    case '3D000':
      what = `database "${target.database}" does not exist; check the database name in --url`;
      break;
    case '53300':
      what = `${message}; the server has no free connection slots (max_connections)`;
      break;
    default:
      what = /timeout/i.test(message)
        ? 'no answer within 10 s; check the host and port in --url and any firewall in between'
        : `${message}; check the host, port, user, password and database in --url`;
  }
  return new LoadgenError('SL_ERR_LOADGEN_CONNECT', `cannot connect to PostgreSQL at ${where}: ${what}`, {
    cause: error,
  });
}

/**
 * The one place a value is written into SQL text rather than passed as a parameter: point reads
 * inline their id so pg_stat_statements shows what a literal-per-call client looks like (many
 * texts, one normalized entry). Only safe integers get through.
 */
function intLiteral(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
  return String(value);
}

/**
 * Creates the schema, tables, indexes and seed rows if missing (with `reset`, drops them first).
 * Idempotent and safe to run concurrently: one transaction under an advisory lock.
 */
export async function prepareSchema(
  client: pg.ClientBase,
  options: Pick<ResolvedLoadOptions, 'schema' | 'scale' | 'reset'>,
): Promise<SchemaInfo> {
  let s = '';
  const step = async (what: string, sql: string, values?: unknown[]): Promise<pg.QueryResult> => {
    try {
      return await client.query(sql, values);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const hint =
        code === '42501'
          ? `; the user in --url needs the CREATE privilege on the database (GRANT CREATE ON DATABASE ... TO ...)`
          : '';
      throw new LoadgenError(
        'SL_ERR_LOADGEN_SCHEMA',
        `could not ${what} in schema ${options.schema}: ${messageOf(error)}${hint}`,
        { cause: error },
      );
    }
  };

  // quote_ident() quotes only when it must (a keyword, say), so statements read naturally in pg_stat_statements.
  const quoted = await step('quote the schema name', 'SELECT quote_ident($1) AS ident', [options.schema]);
  s = (quoted.rows[0] as { ident: string } | undefined)?.ident ?? '';
  await step('start the setup', 'BEGIN');
  try {
    // Seeding a large --scale takes longer than the run's statement_timeout, and waiting for another
    // loadgen's setup longer than its lock_timeout; both apply to this transaction only.
    await step(
      'lift the timeouts for the setup',
      'SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0',
    );
    await step('take the setup lock', 'SELECT pg_advisory_xact_lock(hashtext($1))', [
      `sightline-loadgen:${options.schema}`,
    ]);
    const existing = await step(
      'look up the schema',
      `SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1`,
      [options.schema],
    );
    const found = existing.rows[0] as { comment: string | null } | undefined;
    if (found && found.comment !== SCHEMA_MARKER) {
      throw new LoadgenError(
        'SL_ERR_LOADGEN_SCHEMA_NOT_OURS',
        `schema ${options.schema} exists but sightline loadgen did not create it, so it will neither use nor drop it; ` +
          'choose another --schema',
      );
    }
    let created = !found;
    if (found && options.reset) {
      await step('drop the schema', `DROP SCHEMA ${s} CASCADE`);
      created = true;
    }
    await step('create the schema', `CREATE SCHEMA IF NOT EXISTS ${s}`);
    await step('mark the schema', `COMMENT ON SCHEMA ${s} IS '${SCHEMA_MARKER}'`);
    await step(
      'create the tables',
      `CREATE TABLE IF NOT EXISTS ${s}.accounts (
         id bigint PRIMARY KEY,
         email text NOT NULL UNIQUE,
         name text NOT NULL,
         region text NOT NULL,
         balance numeric(14, 2) NOT NULL DEFAULT 0,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz
       );
       CREATE INDEX IF NOT EXISTS ${UNUSED_INDEX} ON ${s}.accounts (region, created_at);
       CREATE TABLE IF NOT EXISTS ${s}.orders (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         account_id bigint NOT NULL REFERENCES ${s}.accounts (id),
         amount numeric(12, 2) NOT NULL,
         status text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       );
       CREATE TABLE IF NOT EXISTS ${s}.events (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         account_id bigint NOT NULL,
         kind text NOT NULL,
         payload jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    // Ids are 1..n without gaps (the mix never inserts or deletes accounts), so max(id) is the count.
    const max = await step(
      'count the accounts',
      `SELECT coalesce(max(id), 0)::int AS max FROM ${s}.accounts`,
    );
    const have = (max.rows[0] as { max: number } | undefined)?.max ?? 0;
    let insertedAccounts = 0;
    if (have < options.scale) {
      await step(
        'insert accounts',
        `INSERT INTO ${s}.accounts (id, email, name, region, balance, created_at)
         SELECT g, 'user' || g || '@example.com', 'Account ' || g,
                (ARRAY['eu', 'us', 'apac', 'latam'])[1 + g % 4],
                round((random() * 1000)::numeric, 2), now() - (g % 1000) * interval '1 hour'
         FROM generate_series($1::bigint, $2::bigint) AS g`,
        [have + 1, options.scale],
      );
      await step(
        'insert orders',
        `INSERT INTO ${s}.orders (account_id, amount, status, created_at)
         SELECT g, round((random() * 200)::numeric, 2), (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
                now() - (g % 500) * interval '1 hour'
         FROM generate_series($1::bigint, $2::bigint) AS g`,
        [have + 1, options.scale],
      );
      // Fresh statistics so the planner uses the primary key for point reads from the first second.
      await step('analyze the tables', `ANALYZE ${s}.accounts, ${s}.orders, ${s}.events`);
      insertedAccounts = options.scale - have;
    }
    await step('commit the setup', 'COMMIT');
    return {
      schema: options.schema,
      identifier: s,
      created,
      accounts: Math.max(have, options.scale),
      insertedAccounts,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const EXPECTED_ERROR_CODES = new Set(['22012', '23505']);
/** SQLSTATEs that mean the server or the connection went away (classes 08, 57P and 53300). */
const CONNECTION_SQLSTATE = /^(08|57P0[1-3]|53300)/;

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(code)) return CONNECTION_SQLSTATE.test(code);
    if (/^E[A-Z]+$/.test(code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i.test(
    messageOf(error),
  );
}

class PostgresExecutor implements LoadExecutor {
  private readonly t: { accounts: string; orders: string; events: string };
  private writes = 0;
  private errorsRun = 0;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
    private readonly accounts: number,
  ) {
    this.t = { accounts: `${s}.accounts`, orders: `${s}.orders`, events: `${s}.events` };
  }

  connectionsFor(kind: LoadKind): number {
    return kind === 'lock' ? 2 : 1;
  }

  async execute(kind: LoadKind, stopping: AbortSignal): Promise<Outcome> {
    try {
      switch (kind) {
        case 'point':
          await this.withClient((c) => this.point(c));
          break;
        case 'scan':
          await this.withClient((c) => this.scan(c));
          break;
        case 'write':
          await this.withClient((c) => this.write(c));
          break;
        case 'lock':
          await this.withClient((holder) => this.withClient((waiter) => this.lock(holder, waiter, stopping)));
          break;
        case 'error':
          return await this.withClient((c) => this.error(c));
        case 'idle':
          await this.withClient((c) => this.idle(c, stopping));
          break;
      }
      return { status: 'ok' };
    } catch (error) {
      return {
        status: 'failed',
        expected: false,
        connection: isConnectionError(error),
        message: messageOf(error),
      };
    }
  }

  /** Checks out a connection and listens for its errors: pg-pool drops its own listener while a client is out. */
  private async withClient<T>(use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    const onError = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      return await use(client);
    } catch (error) {
      if (isConnectionError(error)) broken ??= error;
      throw error;
    } finally {
      client.off('error', onError);
      // A truthy argument makes the pool close the connection instead of reusing it.
      client.release(broken === undefined ? undefined : true);
    }
  }

  /** Runs `body` in a transaction; on failure rolls back, and closes the connection if that fails too. */
  private async transaction(client: pg.PoolClient, body: () => Promise<void>): Promise<void> {
    await client.query('BEGIN');
    try {
      await body();
      await client.query('COMMIT');
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // A connection that cannot roll back may still be inside the transaction: it must not go back to the pool.
        throw Object.assign(
          new Error(`${messageOf(error)} (and the rollback failed: ${messageOf(rollbackError)})`, {
            cause: error,
          }),
          { code: 'EROLLBACK' },
        );
      }
      throw error;
    }
  }

  private account(): number {
    return 1 + Math.floor(Math.random() * this.accounts);
  }

  private async point(client: pg.PoolClient): Promise<void> {
    await client.query(
      `SELECT id, email, name, balance FROM ${this.t.accounts} WHERE id = ${intLiteral(this.account())}`,
    );
  }

  private async scan(client: pg.PoolClient): Promise<void> {
    const seconds = 0.05 + Math.random() * 0.15;
    const fragment = Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
    // The leading % rules out every index, so this is a sequential scan; pg_sleep makes it reliably slow.
    await client.query(
      `SELECT count(*) AS matches, pg_sleep($1) FROM ${this.t.accounts} WHERE email LIKE $2`,
      [seconds, `%${fragment}%`],
    );
  }

  private async write(client: pg.PoolClient): Promise<void> {
    const amount = Math.round((Math.random() * 200 - 100) * 100) / 100;
    switch (this.writes++ % 3) {
      case 0:
        await client.query(
          `INSERT INTO ${this.t.orders} (account_id, amount, status) VALUES ($1, $2, 'new')`,
          [this.account(), Math.abs(amount)],
        );
        break;
      case 1:
        await client.query(
          `UPDATE ${this.t.accounts} SET balance = balance + $1, updated_at = now() WHERE id = $2`,
          [amount, this.account()],
        );
        break;
      default:
        await client.query(`INSERT INTO ${this.t.events} (account_id, kind, payload) VALUES ($1, $2, $3)`, [
          this.account(),
          'balance_checked',
          JSON.stringify({ amount, source: APPLICATION_NAME }),
        ]);
    }
  }

  private async lock(holder: pg.PoolClient, waiter: pg.PoolClient, stopping: AbortSignal): Promise<void> {
    const id = this.account();
    const update = `UPDATE ${this.t.accounts} SET balance = balance + $1, updated_at = now() WHERE id = $2`;
    let waited: Promise<Error | undefined> = Promise.resolve(undefined);
    let failure: { error: unknown } | undefined;
    try {
      await this.transaction(holder, async () => {
        await holder.query(update, [1, id]);
        // Blocks on the row lock until the holder commits: a real entry in pg_blocking_pids().
        waited = waiter.query(update, [-1, id]).then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
        await pause(1000 + Math.random() * 1000, stopping);
      });
    } catch (error) {
      failure = { error };
    }
    // The waiter's connection goes back to the pool only once its statement is over.
    const waitError = await waited;
    if (failure) throw failure.error;
    if (waitError !== undefined) throw waitError;
  }

  private async error(client: pg.PoolClient): Promise<Outcome> {
    const id = this.account();
    try {
      if (this.errorsRun++ % 2 === 0) {
        await client.query(`SELECT balance / $1 AS ratio FROM ${this.t.accounts} WHERE id = $2`, [0, id]);
      } else {
        await client.query(
          `INSERT INTO ${this.t.accounts} (id, email, name, region) VALUES ($1, $2, $3, $4)`,
          [id, `duplicate-${id}-${Date.now()}@example.com`, 'Duplicate', 'eu'],
        );
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && EXPECTED_ERROR_CODES.has(code)) {
        return { status: 'failed', expected: true, connection: false, message: messageOf(error) };
      }
      throw error;
    }
    return {
      status: 'failed',
      expected: false,
      connection: false,
      message: 'a statement meant to fail succeeded',
    };
  }

  private async idle(client: pg.PoolClient, stopping: AbortSignal): Promise<void> {
    await this.transaction(client, async () => {
      await client.query(`SELECT id, balance FROM ${this.t.accounts} WHERE id = $1`, [this.account()]);
      await pause(1500 + Math.random() * 1000, stopping);
    });
  }
}
