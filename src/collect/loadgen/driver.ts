/**
 * The database-independent half of `sightline loadgen`: the kinds of operation and their mix, the
 * options and their limits, `driveLoad()`, the scheduling core that fires operations at a fixed
 * rate against a `LoadExecutor`, and `runLoadOn()`, a whole run: options, setup, load, clean-up.
 * Each database supplies a `LoadEngine` (its connections and schema setup), with the mix's SQL
 * run by `sql-executor.ts`: `collect/postgres/loadgen.ts` and `collect/mysql/loadgen.ts`.
 *
 * Nothing here opens a connection, so the rate control is tested without a server.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export const LOAD_KINDS = ['point', 'scan', 'write', 'lock', 'error', 'idle'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];
/** Relative weights; a kind with weight 0 never runs. */
export type LoadMix = Record<LoadKind, number>;
export type KindCounts = Record<LoadKind, number>;

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

/** How loadgen's sessions introduce themselves: application_name in PostgreSQL, program_name in MySQL. */
export const APPLICATION_NAME = 'sightline-loadgen';
/**
 * Marks a schema as loadgen's (the schema comment in PostgreSQL, a marker table's comment in MySQL):
 * loadgen only uses, and only drops, schemas that carry it.
 */
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
  /** The connection URL: postgresql://… or mysql://user:password@host:port/database. */
  url: string;
  /** The schema loadgen creates and works in (in MySQL, a database). */
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
  /** The schema name as written in SQL, quoted if the database needs it. */
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

/** What the options of one database check differently; everything else is checked the same way. */
export interface LoadTarget {
  /** The database in messages: PostgreSQL, MySQL. */
  server: string;
  /** The schemes --url may use, the usual one first: ['postgresql', 'postgres']. */
  urlSchemes: readonly string[];
  /** The rule a schema name breaks ("use lower-case letters, …"), or undefined if the name is usable. */
  schemaProblem(name: string): string | undefined;
}

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
export function resolveLoadOptions(options: LoadOptions, target: LoadTarget): ResolvedLoadOptions {
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
  const [usual, ...others] = target.urlSchemes;
  if (!target.urlSchemes.some((scheme) => resolved.url.startsWith(`${scheme}://`))) {
    const alternatives = others.length === 0 ? '' : ` (or ${others.map((s) => `${s}://`).join(', ')})`;
    invalid(`url must be a ${usual}://${alternatives} connection URL`);
  }
  const schemaProblem = target.schemaProblem(resolved.schema);
  if (schemaProblem !== undefined) invalid(`schema "${resolved.schema}" is not usable: ${schemaProblem}`);
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
 * its average sleep plus the scan; lock holds two connections ~1.5 s each; idle waits ~2 s. The
 * MySQL kinds sleep and wait just as long.
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
  /** The database in messages: PostgreSQL, MariaDB. */
  readonly server: string;
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
  // Every in-flight operation may wait on it (lock and idle do), besides the tick and progress loops:
  // more than Node's default of 10 listeners is expected, not a leak.
  setMaxListeners(plan.connections + 2, stopping.signal);
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
      `lost the connection to ${executor.server}: nothing succeeded for ${CONNECTION_LOST_AFTER_MS / 1000} s (last error: ${lost}); ` +
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

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// A run

/** One database's side of `runLoad()`: its rules for the options, and a pool for a run. */
export interface LoadEngine<Connection> {
  readonly target: LoadTarget;
  /** Creates the run's connection pool without connecting; throws SL_ERR_LOADGEN_OPTIONS for a URL it cannot use. */
  open(options: ResolvedLoadOptions): LoadPool<Connection>;
}

/** A run's connections, used in this order: one for the setup, then the executor's, then close. */
export interface LoadPool<Connection> {
  /** Checks out the connection the setup runs on; throws SL_ERR_LOADGEN_CONNECT saying why it cannot. */
  connect(): Promise<Connection>;
  /** Creates or reuses loadgen's schema; throws SL_ERR_LOADGEN_SCHEMA or SL_ERR_LOADGEN_SCHEMA_NOT_OURS. */
  prepareSchema(connection: Connection, options: ResolvedLoadOptions): Promise<SchemaInfo>;
  /** Gives the setup connection back, or closes it when the setup failed: it may be mid-transaction. */
  release(connection: Connection, failed: boolean): void;
  /** The executor of the mix against the schema the setup reported. */
  executor(info: SchemaInfo): LoadExecutor;
  /** Closes every connection, whether the run finished, stopped or failed. */
  close(): Promise<void>;
}

/**
 * Runs the mix against `options.url` until `options.durationS` passes or `hooks.signal` aborts,
 * then lets in-flight operations finish (cutting deliberate waits short) and returns the counts.
 */
export async function runLoadOn<Connection>(
  engine: LoadEngine<Connection>,
  options: LoadOptions,
  hooks: LoadHooks = {},
): Promise<LoadSummary> {
  const resolved = resolveLoadOptions(options, engine.target);
  const pool = engine.open(resolved);
  try {
    const setup = await pool.connect();
    let info: SchemaInfo;
    try {
      info = await pool.prepareSchema(setup, resolved);
      pool.release(setup, false);
    } catch (error) {
      pool.release(setup, true);
      throw error;
    }
    hooks.onReady?.(info);
    return await driveLoad(resolved, pool.executor(info), hooks);
  } finally {
    await pool.close();
  }
}

/** Where a connection attempt went, as its SL_ERR_LOADGEN_CONNECT message names it. */
export interface ConnectAttempt {
  /** The database: PostgreSQL, MariaDB. */
  server: string;
  /** host:port, or the socket. */
  where: string;
  host: string;
}

/**
 * SL_ERR_LOADGEN_CONNECT for a failed first connection, saying what to check. `explain` knows the
 * database's own error codes (undefined for the rest); network errors read the same for every database.
 */
export function connectError(
  error: unknown,
  attempt: ConnectAttempt,
  explain: (code: unknown, message: string) => string | undefined,
): LoadgenError {
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  let what: string | undefined;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      what = `the host name ${attempt.host} does not resolve; check the host in --url`;
      break;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      what = `${message}; check the host and port in --url and any firewall in between`;
      break;
    default:
      what =
        explain(code, message) ?? `${message}; check the host, port, user, password and database in --url`;
  }
  return new LoadgenError(
    'SL_ERR_LOADGEN_CONNECT',
    `cannot connect to ${attempt.server} at ${attempt.where}: ${what}`,
    { cause: error },
  );
}

/**
 * Wraps `run` for the setup's statements: a failure becomes SL_ERR_LOADGEN_SCHEMA saying which step
 * failed and where ("schema x", "database x"), and `hint` adds how to fix it when the code tells.
 */
export function setupSteps<Result>(
  run: (sql: string, values?: unknown[]) => Promise<Result>,
  where: string,
  hint: (code: unknown) => string | undefined,
): (what: string, sql: string, values?: unknown[]) => Promise<Result> {
  return async (what, sql, values) => {
    try {
      return await run(sql, values);
    } catch (error) {
      const advice = hint((error as { code?: unknown }).code);
      throw new LoadgenError(
        'SL_ERR_LOADGEN_SCHEMA',
        `could not ${what} in ${where}: ${messageOf(error)}${advice === undefined ? '' : `; ${advice}`}`,
        { cause: error },
      );
    }
  };
}

/** What a setup that found `had` accounts reports once the schema holds at least `options.scale`. */
export function schemaInfo(
  options: Pick<ResolvedLoadOptions, 'schema' | 'scale'>,
  identifier: string,
  created: boolean,
  had: number,
): SchemaInfo {
  return {
    schema: options.schema,
    identifier,
    created,
    accounts: Math.max(had, options.scale),
    insertedAccounts: Math.max(0, options.scale - had),
  };
}
