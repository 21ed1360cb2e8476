import { expect, it, vi } from 'vitest';
import {
  LOAD_KINDS,
  parseMix,
  type LoadHooks,
  type LoadOptions,
  type LoadSummary,
} from '../../src/collect/loadgen/driver.js';

/** `runLoad()` of one database: collect/postgres/loadgen.ts or collect/mysql/loadgen.ts. */
export type RunLoad = (options: LoadOptions, hooks?: LoadHooks) => Promise<LoadSummary>;

/** Operations a load run made, over every kind. */
export function total(summary: LoadSummary): number {
  return LOAD_KINDS.reduce((sum, kind) => sum + summary.statements[kind], 0);
}

/** Expects `run` to fail with SL_ERR_LOADGEN_CONNECT, its message containing `message` (a string) or matching it. */
export async function expectCannotConnect(run: Promise<unknown>, message: string | RegExp): Promise<void> {
  await expect(run).rejects.toMatchObject({
    code: 'SL_ERR_LOADGEN_CONNECT',
    message: (typeof message === 'string'
      ? expect.stringContaining(message)
      : expect.stringMatching(message)) as unknown,
  });
}

/** Reading the server while a load runs, from a connection of its own, as Sightline's collector would. */
export interface Poll {
  /** Reads the server once. */
  read(): Promise<void>;
  intervalMs: number;
}

/**
 * Runs every kind (enough of each to show up within seconds) at 100/s on 16 connections for
 * `durationS` against a new 2,000-account schema sightline_loadgen, reading the server with `poll`
 * meanwhile. Checks that the run kept its schedule, and returns its summary.
 */
export async function runEveryKind(
  runLoad: RunLoad,
  url: string,
  durationS: number,
  poll: Poll,
): Promise<LoadSummary> {
  let polling = true;
  const polls = (async () => {
    while (polling) {
      await poll.read();
      await new Promise((resolve) => setTimeout(resolve, poll.intervalMs));
    }
  })();
  const ready: unknown[] = [];
  let summary: LoadSummary;
  try {
    summary = await runLoad(
      {
        url,
        scale: 2_000,
        rate: 100,
        durationS,
        connections: 16,
        mix: parseMix('point=60,scan=5,write=20,lock=2,error=5,idle=2'),
      },
      { onReady: (info) => ready.push(info) },
    );
  } finally {
    polling = false;
    await polls;
  }

  expect(ready).toEqual([
    expect.objectContaining({ schema: 'sightline_loadgen', created: true, accounts: 2_000 }),
  ]);
  const ticks = 100 * durationS;
  // Every tick either ran or was skipped: the schedule neither drifted nor queued.
  expect(total(summary) + summary.skipped).toBe(ticks);
  expect(total(summary)).toBeGreaterThanOrEqual(ticks * 0.95);
  for (const kind of LOAD_KINDS) expect(summary.statements[kind], kind).toBeGreaterThan(0);
  expect(summary.errors).toBe(summary.statements.error);
  expect(summary.unexpectedErrors).toBe(0);
  expect(summary.firstUnexpectedError).toBeUndefined();
  expect(summary.durationS).toBeGreaterThanOrEqual(durationS);
  expect(summary.durationS).toBeLessThan(durationS + 0.5);
  expect(summary.rate).toBeGreaterThan(85);
  expect(summary.rate).toBeLessThanOrEqual(100);
  return summary;
}

/**
 * Registers, in the current describe, the check that a run stops cleanly on abort: in-flight
 * operations finish quickly and no session is left open. `url` is read when the test runs (after
 * the server started); `sessionsLeft` counts loadgen's sessions on the server.
 */
export function checkStopsOnAbort(
  runLoad: RunLoad,
  url: () => string,
  sessionsLeft: () => Promise<number>,
): void {
  it('stops cleanly on abort: in-flight operations finish quickly and no session is left open', async () => {
    const abort = new AbortController();
    const stopAfter = setTimeout(() => abort.abort(), 1_500);
    const started = performance.now();
    const summary = await runLoad(
      {
        url: url(),
        scale: 2_000,
        rate: 50,
        connections: 8,
        mix: parseMix('point=10,lock=1,idle=1'),
      },
      { signal: abort.signal },
    );
    clearTimeout(stopAfter);
    const tookS = (performance.now() - started) / 1000;
    // lock and idle would hold on for up to 2.5 s; stopping cuts their waits short.
    expect(tookS).toBeLessThan(2.5);
    expect(summary.durationS).toBeGreaterThanOrEqual(1.4);
    expect(summary.durationS).toBeLessThan(2);
    expect(summary.unexpectedErrors).toBe(0);
    expect(summary.statements.lock).toBeGreaterThan(0);
    expect(summary.statements.idle).toBeGreaterThan(0);
    // The pool has closed its connections; the server ends those sessions a moment later.
    await vi.waitFor(async () => expect(await sessionsLeft()).toBe(0), { timeout: 2_000, interval: 50 });
  });
}
