import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): where the main thread's time went, by
 * function (self time), by module, and for Sightline's own functions including callees.
 * It sees only the JavaScript thread; DuckDB's threads and zlib on the libuv pool are not in it.
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top]
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  topSelf: Entry[];
  byModule: Entry[];
  sightlineInclusive: Entry[];
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = parentsOf(profile.nodes);
  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, index) => {
    const node = nodes.get(id);
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    if (node === undefined) return;
    totalMs += ms;
    if (node.callFrame.functionName === '(idle)') idleMs += ms;
    add(self, functionLabel(node.callFrame), ms);
    add(modules, moduleOf(node.callFrame), ms);
    for (const name of sightlineStack(node, nodes, parents)) add(inclusive, name, ms);
  });
  const busyMs = totalMs - idleMs;
  const entries = (map: Map<string, number>): Entry[] =>
    [...map]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: Math.round((1000 * ms) / busyMs) / 10 }));
  return {
    totalMs: Math.round(totalMs),
    idleMs: Math.round(idleMs),
    topSelf: entries(self),
    byModule: entries(modules),
    sightlineInclusive: entries(inclusive),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const table = (title: string, entries: Entry[]): string =>
    [
      `${title}`,
      ...entries.map(
        (e) => `  ${String(e.ms).padStart(7)} ms ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`,
      ),
    ].join('\n');
  return [
    `main thread: ${summary.totalMs} ms sampled, ${summary.idleMs} ms idle; percentages are of busy time`,
    table('self time by function:', summary.topSelf),
    table('self time by module:', summary.byModule),
    table('Sightline functions, including what they call:', summary.sightlineInclusive),
  ].join('\n');
}

function parentsOf(nodes: readonly ProfileNode[]): Map<number, number> {
  const parents = new Map<number, number>();
  for (const node of nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  return parents;
}

/** Sightline's functions on the sampled stack, each once, so recursion is not counted twice. */
function sightlineStack(
  leaf: ProfileNode,
  nodes: Map<number, ProfileNode>,
  parents: Map<number, number>,
): Set<string> {
  const names = new Set<string>();
  for (let node: ProfileNode | undefined = leaf; node !== undefined;) {
    if (/\/dist\/src\//.test(node.callFrame.url)) names.add(functionLabel(node.callFrame));
    const parent = parents.get(node.id);
    node = parent === undefined ? undefined : nodes.get(parent);
  }
  return names;
}

function functionLabel(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  return `${name} ${shortPath(frame.url)}:${frame.lineNumber + 1}`;
}

/** A package, a Sightline source file, node's internals, or V8's own categories ((garbage collector), (program)). */
function moduleOf(frame: CallFrame): string {
  const { url } = frame;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg !== undefined) return pkg;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return shortPath(url);
}

function shortPath(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const inDist = path.indexOf('/dist/');
  if (inDist !== -1) return path.slice(inDist + 1);
  const inModules = path.lastIndexOf('node_modules/');
  return inModules === -1 ? path : path.slice(inModules);
}

function add(map: Map<string, number>, key: string, ms: number): void {
  map.set(key, (map.get(key) ?? 0) + ms);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${formatSummary(summarizeProfile(file, top === undefined ? 25 : Number(top)))}\n`);
  }
}
