import { readFileSync, readdirSync } from 'node:fs';

/** What Linux's /proc says about another process; undefined where it cannot be read. */

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Peak resident set size in MiB (VmHWM in /proc/<pid>/status). */
export function peakRssMiB(pid: number): number | undefined {
  const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readOrEmpty(`/proc/${pid}/status`))?.[1];
  return kib === undefined ? undefined : Number(kib) / 1024;
}

export interface ThreadCpu {
  tid: number;
  /** The main thread runs the JavaScript; the others are DuckDB's, libuv's pool (zlib) and V8's. */
  main: boolean;
  seconds: number;
}

/** CPU time (user + system) each thread of a process has used so far. */
export function threadCpu(pid: number): ThreadCpu[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    const seconds = cpuSecondsOf(readOrEmpty(`/proc/${pid}/task/${tid}/stat`));
    return seconds === undefined ? [] : [{ tid: Number(tid), main: Number(tid) === pid, seconds }];
  });
}

/** CPU used between two readings, by the main thread and by all the others. */
export function cpuBetween(before: ThreadCpu[], after: ThreadCpu[]): { main: number; other: number } {
  const start = new Map(before.map((thread) => [thread.tid, thread.seconds]));
  let main = 0;
  let other = 0;
  for (const thread of after) {
    const used = thread.seconds - (start.get(thread.tid) ?? 0);
    if (thread.main) main += used;
    else other += used;
  }
  return { main, other };
}

function cpuSecondsOf(stat: string): number | undefined {
  // Fields are counted after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface MachineCpu {
  /** Jiffies, all CPUs together: total, idle (with iowait), and steal (taken by the hypervisor). */
  total: number;
  idle: number;
  steal: number;
}

/** The machine's CPU counters (the "cpu" line of /proc/stat). */
export function machineCpu(): MachineCpu | undefined {
  const line = readOrEmpty('/proc/stat').split('\n')[0] ?? '';
  if (!line.startsWith('cpu ')) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const at = (index: number): number => fields[index] ?? 0;
  return { total: fields.reduce((sum, n) => sum + n, 0), idle: at(3) + at(4), steal: at(7) };
}

/**
 * CPU seconds a PostgreSQL server has used: its postmaster with the children it has reaped
 * (finished backends), plus its live children.
 */
export function postgresCpuSeconds(postmasterPid: number | undefined): number {
  if (postmasterPid === undefined) return 0;
  let seconds = processCpuSeconds(String(postmasterPid), true);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const fields = statFields(pid);
    // fields[1] is the parent pid (stat field 4, counted after the command name).
    if (fields !== undefined && Number(fields[1]) === postmasterPid) seconds += processCpuSeconds(pid, false);
  }
  return seconds;
}

/**
 * utime + stime (stat fields 14, 15) and, with `reaped`, cutime + cstime (16, 17): the children it
 * has waited for, such as pgbench for this process or finished backends for the postmaster.
 */
export function processCpuSeconds(pid: string, reaped: boolean): number {
  const fields = statFields(pid);
  if (fields === undefined) return 0;
  const ticks = [11, 12, ...(reaped ? [13, 14] : [])].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

function statFields(pid: string): string[] | undefined {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  if (stat === '') return undefined;
  // Fields after the command name, which may itself hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
