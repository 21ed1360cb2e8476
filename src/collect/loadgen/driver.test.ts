import { describe, expect, it } from 'vitest';
import { checkLoadOptions, mix } from '../../../test/helpers/loadgen-options.js';
import {
  DEFAULT_MIX,
  LOAD_KINDS,
  LoadgenError,
  connectError,
  createKindPicker,
  driveLoad,
  estimateBusyConnections,
  formatMix,
  parseMix,
  resolveLoadOptions,
  runLoadOn,
  setupSteps,
  tickDueAt,
  ticksInDuration,
  type Clock,
  type LoadEngine,
  type LoadExecutor,
  type LoadHooks,
  type LoadKind,
  type LoadPlan,
  type LoadProgress,
  type LoadSummary,
  type LoadTarget,
  type Outcome,
  type SchemaInfo,
} from './driver.js';

/** A database whose URLs start with test:// and whose schema names are plain lower-case words. */
const TARGET: LoadTarget = {
  server: 'TestDB',
  urlSchemes: ['test', 'testdb', 'tdb'],
  schemaProblem: (name) => (/^[a-z_]+$/.test(name) ? undefined : 'use lower-case letters and _'),
};
const URL = 'test://u:p@127.0.0.1:5432/db';

function pickMany(picker: () => LoadKind, n: number): LoadKind[] {
  return Array.from({ length: n }, () => picker());
}

function countKinds(kinds: LoadKind[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * A virtual clock: sleepers wake in time order once everything runnable has run (setImmediate
 * comes after pending promise callbacks), each `lateMs` after its due time, like a busy event loop.
 */
class FakeClock implements Clock {
  private time = 0;
  private readonly timers: { at: number; wake: () => void }[] = [];
  private scheduled = false;

  constructor(private readonly lateMs = 0) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = {
        at: this.time + Math.max(0, ms),
        wake: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers.splice(this.timers.indexOf(timer), 1);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift();
      if (!next) return;
      this.time = Math.max(this.time, next.at + this.lateMs);
      next.wake();
      if (this.timers.length > 0) this.kick();
    });
  }
}

/** Completes every operation at once, with the error kind failing as designed. */
class InstantExecutor implements LoadExecutor {
  readonly server = 'TestDB';
  readonly launches: { kind: LoadKind; at: number }[] = [];
  constructor(private readonly clock: Clock) {}
  connectionsFor(kind: LoadKind): number {
    return kind === 'lock' ? 2 : 1;
  }
  async execute(kind: LoadKind): Promise<Outcome> {
    this.launches.push({ kind, at: this.clock.now() });
    return kind === 'error'
      ? { status: 'failed', expected: true, connection: false, message: 'division by zero' }
      : { status: 'ok' };
  }
}

/** A database that never answers: operations end only when the run stops. */
class StuckExecutor implements LoadExecutor {
  readonly server = 'TestDB';
  busy = 0;
  maxBusy = 0;
  launched = 0;
  connectionsFor(kind: LoadKind): number {
    return kind === 'lock' ? 2 : 1;
  }
  execute(kind: LoadKind, stopping: AbortSignal): Promise<Outcome> {
    this.launched++;
    this.busy += this.connectionsFor(kind);
    this.maxBusy = Math.max(this.maxBusy, this.busy);
    return new Promise((resolve) => {
      stopping.addEventListener(
        'abort',
        () => {
          this.busy -= this.connectionsFor(kind);
          resolve({ status: 'ok' });
        },
        { once: true },
      );
    });
  }
}

/** Drives `plan` on a fresh FakeClock against a StuckExecutor. */
async function driveStuck(
  plan: LoadPlan,
  hooks: LoadHooks = {},
): Promise<{ executor: StuckExecutor; summary: LoadSummary }> {
  const executor = new StuckExecutor();
  const summary = await driveLoad(plan, executor, hooks, new FakeClock());
  return { executor, summary };
}

describe('parseMix', () => {
  it('reads kind=weight pairs and gives the kinds left out weight 0', () => {
    expect(parseMix('point=60,scan=5,write=25,lock=3,error=2,idle=5')).toEqual({
      point: 60,
      scan: 5,
      write: 25,
      lock: 3,
      error: 2,
      idle: 5,
    });
    expect(parseMix(' point = 90 , write=10 ,')).toEqual(mix({ point: 90, write: 10 }));
    expect(parseMix('lock=0.5,idle=1.25')).toEqual(mix({ lock: 0.5, idle: 1.25 }));
  });

  it('round-trips the default mix through formatMix', () => {
    expect(formatMix(DEFAULT_MIX)).toBe('point=75,scan=2,write=20,lock=0.5,error=2,idle=0.5');
    expect(parseMix(formatMix(DEFAULT_MIX))).toEqual(DEFAULT_MIX);
  });

  it.each([
    ['reads=5', /"reads" in the mix is not a kind; the kinds are point, scan, write, lock, error, idle/],
    ['point=5,point=6', /"point" appears twice/],
    ['point', /"point" in the mix is not kind=weight/],
    ['point=-1', /"point=-1" in the mix is not kind=weight/],
    ['point=abc', /not kind=weight/],
    ['point=0,scan=0', /every weight in the mix is 0/],
    ['', /the mix is empty/],
    [' , ', /the mix is empty/],
  ])('rejects %j naming the problem', (text, message) => {
    expect(() => parseMix(text)).toThrow(message);
    expect(() => parseMix(text)).toThrow(LoadgenError);
  });
});

describe('createKindPicker', () => {
  it('picks each kind exactly its weight times in every run of total-weight picks', () => {
    const picker = createKindPicker(parseMix('point=60,scan=5,write=25,lock=3,error=2,idle=5'));
    for (let round = 0; round < 3; round++) {
      expect(countKinds(pickMany(picker, 100))).toEqual({
        point: 60,
        scan: 5,
        write: 25,
        lock: 3,
        error: 2,
        idle: 5,
      });
    }
  });

  it('spaces a kind evenly instead of bunching it', () => {
    const picks = pickMany(createKindPicker(mix({ point: 95, idle: 5 })), 400);
    const positions = picks.flatMap((kind, index) => (kind === 'idle' ? [index] : []));
    const gaps = positions.slice(1).map((position, i) => position - (positions[i] ?? 0));
    expect(positions).toHaveLength(20);
    expect(new Set(gaps)).toEqual(new Set([20]));
  });

  it('honours fractional weights and never picks a kind of weight 0', () => {
    const counts = countKinds(pickMany(createKindPicker(DEFAULT_MIX), 1000));
    expect(counts).toEqual({ point: 750, scan: 20, write: 200, lock: 5, error: 20, idle: 5 });
    expect(countKinds(pickMany(createKindPicker(mix({ write: 1 })), 50))).toEqual({ write: 50 });
  });
});

describe('scheduling math', () => {
  it('puts tick n at start + n / rate', () => {
    expect(tickDueAt(1000, 0, 50)).toBe(1000);
    expect(tickDueAt(1000, 50, 100)).toBe(1500);
    expect(tickDueAt(0, 3, 0.5)).toBe(6000);
  });

  it('counts the ticks due within a duration', () => {
    expect(ticksInDuration(100, 3)).toBe(300);
    expect(ticksInDuration(0.1, 30)).toBe(3);
    expect(ticksInDuration(3, 0.5)).toBe(2);
    expect(ticksInDuration(50, 0.001)).toBe(1);
  });

  it('estimates busy connections from the rate and how long each kind holds one', () => {
    expect(estimateBusyConnections(mix({ idle: 1 }), 1)).toBeCloseTo(2);
    expect(estimateBusyConnections(mix({ lock: 1, point: 1 }), 2)).toBeCloseTo(3.0005);
    // The defaults fit their 4 connections with room to spare.
    expect(estimateBusyConnections(DEFAULT_MIX, 50)).toBeLessThan(2);
  });
});

describe('resolveLoadOptions', () => {
  checkLoadOptions(TARGET, URL, [
    [{ url: 'postgresql://x' }, 'url must be a test:// (or testdb://, tdb://) connection URL'],
    [{ url: 'tdb://h/x' }, null],
    [{ schema: 'Has-Dash' }, 'schema "Has-Dash" is not usable: use lower-case letters and _'],
    [{ rate: 0 }, /rate is 0; it must be from 0.1 to 100000/],
    [{ rate: Number.NaN }, /rate is NaN/],
    [{ scale: 1.5 }, /scale is 1.5; it must be a whole number/],
    [{ scale: 10_000_001 }, /scale is 10000001/],
    [{ durationS: 0 }, /duration is 0/],
    [{ durationS: 367 * 24 * 3600 }, /at most a year/],
    [{ connections: 0 }, /connections is 0/],
    [{ connections: 501 }, /connections is 501/],
    [{ mix: mix({}) }, /every weight in the mix is 0/],
    [{ connections: 1 }, /lock kind needs two connections/],
    [{ connections: 1, mix: mix({ point: 1 }) }, null],
  ]);

  it('throws a LoadgenError coded SL_ERR_LOADGEN_OPTIONS', () => {
    let thrown: unknown;
    try {
      resolveLoadOptions({ url: URL, rate: -1 }, TARGET);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LoadgenError);
    expect(thrown).toMatchObject({ code: 'SL_ERR_LOADGEN_OPTIONS' });
  });
});

describe('driveLoad', () => {
  it('runs exactly rate x duration operations in the mix proportions when the database keeps up', async () => {
    const clock = new FakeClock();
    const executor = new InstantExecutor(clock);
    const summary = await driveLoad(
      {
        rate: 100,
        durationS: 3,
        connections: 4,
        mix: parseMix('point=60,scan=5,write=25,lock=3,error=2,idle=5'),
      },
      executor,
      {},
      clock,
    );
    expect(summary).toEqual({
      durationS: 3,
      statements: { point: 180, scan: 15, write: 75, lock: 9, error: 6, idle: 15 },
      errors: 6,
      rate: 100,
      skipped: 0,
      unexpectedErrors: 0,
    });
  });

  it('does not drift when every wake-up is late: launches stay on the absolute schedule', async () => {
    const clock = new FakeClock(7);
    const executor = new InstantExecutor(clock);
    const summary = await driveLoad(
      { rate: 50, durationS: 10, connections: 4, mix: mix({ point: 1 }) },
      executor,
      {},
      clock,
    );
    expect(summary.statements.point).toBe(500);
    expect(executor.launches).toHaveLength(500);
    executor.launches.forEach(({ at }, tick) => {
      const due = tickDueAt(0, tick, 50);
      expect(at).toBeGreaterThanOrEqual(due);
      // Late by one wake-up at most; a drifting scheduler would be 7 ms later per tick.
      expect(at - due).toBeLessThanOrEqual(7);
    });
  });

  it('skips instead of queueing when the database cannot keep up, never exceeding the connections', async () => {
    const { executor, summary } = await driveStuck({
      rate: 100,
      durationS: 10,
      connections: 4,
      mix: mix({ point: 1 }),
    });
    expect(executor.launched).toBe(4);
    expect(executor.maxBusy).toBe(4);
    expect(summary.statements.point).toBe(4);
    expect(summary.skipped).toBe(996);
    expect(summary.durationS).toBe(10);
  });

  it('counts both connections of a lock against the limit', async () => {
    const { executor, summary } = await driveStuck({
      rate: 10,
      durationS: 2,
      connections: 3,
      mix: mix({ lock: 1 }),
    });
    expect(executor.maxBusy).toBe(2);
    expect(summary.statements.lock).toBe(1);
    expect(summary.skipped).toBe(19);
  });

  it('stops when the signal aborts, lets in-flight operations finish and reports what ran', async () => {
    const abort = new AbortController();
    const progress: LoadProgress[] = [];
    const { executor, summary } = await driveStuck(
      { rate: 10, durationS: undefined, connections: 4, mix: mix({ point: 1 }) },
      {
        signal: abort.signal,
        onProgress: (p) => {
          progress.push(p);
          if (p.elapsedS >= 3) abort.abort();
        },
      },
    );
    expect(progress.map((p) => p.elapsedS)).toEqual([1, 2, 3]);
    expect(progress[0]).toMatchObject({ busyConnections: 4, skipped: 6, rate: 0 });
    expect(executor.busy).toBe(0);
    expect(summary).toMatchObject({ durationS: 3, statements: { point: 4 }, skipped: 26 });
  });

  it('reports progress once per second with the counts so far', async () => {
    const clock = new FakeClock();
    const progress: LoadProgress[] = [];
    await driveLoad(
      { rate: 20, durationS: 3.5, connections: 2, mix: mix({ point: 3, error: 1 }) },
      new InstantExecutor(clock),
      { onProgress: (p) => progress.push(p) },
      clock,
    );
    expect(progress).toHaveLength(3);
    expect(progress[1]).toEqual({
      elapsedS: 2,
      statements: { point: 30, scan: 0, write: 0, lock: 0, error: 10, idle: 0 },
      errors: 10,
      unexpectedErrors: 0,
      skipped: 0,
      busyConnections: 0,
      rate: 20,
    });
  });

  it('gives up with SL_ERR_LOADGEN_CONNECTION_LOST when nothing succeeds for 5 s', async () => {
    const clock = new FakeClock();
    const down: LoadExecutor = {
      server: 'TestDB',
      connectionsFor: () => 1,
      execute: async () => ({ status: 'failed', expected: false, connection: true, message: 'ECONNREFUSED' }),
    };
    const run = driveLoad(
      { rate: 10, durationS: 60, connections: 4, mix: mix({ point: 1 }) },
      down,
      {},
      clock,
    );
    await expect(run).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECTION_LOST',
      message: expect.stringMatching(
        /^lost the connection to TestDB: nothing succeeded for 5 s \(last error: ECONNREFUSED\)/,
      ) as unknown,
      summary: { unexpectedErrors: 51, firstUnexpectedError: 'point: ECONNREFUSED' },
    });
    expect(clock.now()).toBe(5000);
  });

  it('counts every kind the mix names, with all LOAD_KINDS present in the counts', async () => {
    const clock = new FakeClock();
    const summary = await driveLoad(
      { rate: 1, durationS: 1, connections: 1, mix: mix({ point: 1 }) },
      new InstantExecutor(clock),
      {},
      clock,
    );
    expect(Object.keys(summary.statements)).toEqual([...LOAD_KINDS]);
  });
});

/** An engine that records what runLoadOn asks of it; `fail` makes that step reject. */
function recordingEngine(fail?: 'connect' | 'prepareSchema'): {
  engine: LoadEngine<string>;
  calls: string[];
} {
  const calls: string[] = [];
  const info: SchemaInfo = {
    schema: 'sightline_loadgen',
    identifier: 'sightline_loadgen',
    created: true,
    accounts: 10,
    insertedAccounts: 10,
  };
  const engine: LoadEngine<string> = {
    target: TARGET,
    open: (options) => {
      calls.push(`open ${options.connections}`);
      return {
        connect: async () => {
          calls.push('connect');
          if (fail === 'connect') throw new LoadgenError('SL_ERR_LOADGEN_CONNECT', 'refused');
          return 'setup';
        },
        prepareSchema: async (connection, options) => {
          calls.push(`prepare ${options.schema} on ${connection}`);
          if (fail === 'prepareSchema') throw new LoadgenError('SL_ERR_LOADGEN_SCHEMA', 'no privilege');
          return info;
        },
        release: (connection, failed) => calls.push(`release ${connection}${failed ? ' failed' : ''}`),
        executor: (ready) => {
          calls.push(`executor for ${ready.accounts} accounts`);
          return {
            server: 'TestDB',
            connectionsFor: () => 1,
            execute: async (kind) => {
              if (!calls.includes(kind)) calls.push(kind);
              return { status: 'ok' };
            },
          };
        },
        close: async () => {
          calls.push('close');
        },
      };
    },
  };
  return { engine, calls };
}

describe('runLoadOn', () => {
  it('sets up on one connection, gives it back, runs the mix and closes the pool', async () => {
    const { engine, calls } = recordingEngine();
    const summary = await runLoadOn(
      engine,
      { url: URL, rate: 100, durationS: 0.05, connections: 2, mix: mix({ point: 1 }) },
      { onReady: (info) => calls.push(`ready ${info.schema}`) },
    );
    expect(calls).toEqual([
      'open 2',
      'connect',
      'prepare sightline_loadgen on setup',
      'release setup',
      'ready sightline_loadgen',
      'executor for 10 accounts',
      'point',
      'close',
    ]);
    expect(summary.statements.point).toBe(5);
  });

  it('discards the setup connection and closes the pool when the setup fails', async () => {
    const { engine, calls } = recordingEngine('prepareSchema');
    await expect(runLoadOn(engine, { url: URL, durationS: 1 })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_SCHEMA',
    });
    expect(calls).toEqual([
      'open 4',
      'connect',
      'prepare sightline_loadgen on setup',
      'release setup failed',
      'close',
    ]);
  });

  it('closes the pool when it cannot connect', async () => {
    const { engine, calls } = recordingEngine('connect');
    await expect(runLoadOn(engine, { url: URL, durationS: 1 })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
    });
    expect(calls).toEqual(['open 4', 'connect', 'close']);
  });

  it('checks the options before opening anything', async () => {
    const { engine, calls } = recordingEngine();
    await expect(runLoadOn(engine, { url: 'postgresql://h/db' })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_OPTIONS',
    });
    expect(calls).toEqual([]);
  });
});

describe('connectError', () => {
  const attempt = { server: 'TestDB', where: 'db.test:5432', host: 'db.test' };
  const explain = (code: unknown): string | undefined =>
    code === 'EX42' ? 'the database said no' : undefined;
  const failure = (code: string, message: string) => Object.assign(new Error(message), { code });

  it.each([
    ['ENOTFOUND', 'the host name db.test does not resolve; check the host in --url'],
    ['EHOSTUNREACH', 'connect EHOSTUNREACH; check the host and port in --url and any firewall in between'],
    ['EX42', 'the database said no'],
    ['EOTHER', 'connect EOTHER; check the host, port, user, password and database in --url'],
  ])('explains %s, naming the server and where', (code, what) => {
    const error = failure(code, `connect ${code}`);
    expect(connectError(error, attempt, explain)).toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
      message: `cannot connect to TestDB at db.test:5432: ${what}`,
      cause: error,
    });
  });
});

describe('setupSteps', () => {
  it('turns a failed step into SL_ERR_LOADGEN_SCHEMA naming the step and where, with the hint for its code', async () => {
    const step = setupSteps(
      async (sql) => {
        if (sql === 'CREATE') throw Object.assign(new Error('permission denied'), { code: 'DENIED' });
        return `ran ${sql}`;
      },
      'schema lg',
      (code) => (code === 'DENIED' ? 'grant the privilege' : undefined),
    );
    await expect(step('count', 'SELECT')).resolves.toBe('ran SELECT');
    await expect(step('create the tables', 'CREATE')).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_SCHEMA',
      message: 'could not create the tables in schema lg: permission denied; grant the privilege',
    });
  });

  it('adds no hint when the code tells nothing', async () => {
    const step = setupSteps(
      () => Promise.reject(new Error('disk full')),
      'database lg',
      () => undefined,
    );
    await expect(step('insert accounts', 'INSERT')).rejects.toThrow(
      'could not insert accounts in database lg: disk full',
    );
  });
});
