import type {
  Aggregate,
  Binary,
  BinaryOp,
  Call,
  Expr,
  LabelMatcher,
  Labels,
  MatrixSelector,
  VectorMatching,
  VectorSelector,
} from './ast.js';
import { PromqlEvalError, PromqlLimitError } from './errors.js';
import { formatGoFloatF, formatSampleValue, parseGoFloat } from './format.js';
import type { Bucket, WindowContext } from './functions.js';
import { bucketQuantile, compareFloats, quantile, RANGE_FUNCTIONS } from './functions.js';
import {
  cleanLabels,
  compileGoRegex,
  dropMetricName,
  formatLabels,
  isValidLabelName,
  keepLabels,
  labelsKey,
  matchesAll,
  METRIC_NAME,
  removeLabels,
  signature,
} from './labels.js';
import { isComparison, isSetOp } from './parser.js';

/**
 * Evaluates a parsed PromQL expression the way Prometheus 2.42 promql/engine.go does: a range
 * query is an instant evaluation at every step, with each selector's samples fetched once for
 * the whole window and every node computed for all steps at once (labels and grouping keys once
 * per series, values in typed arrays per step).
 */

/** One stored series; timestamps in ms, ascending; NaN values allowed. */
export interface RawSeries {
  labels: Labels;
  timestampsMs: Float64Array;
  values: Float64Array;
}

/** Where samples come from: every series matching all matchers with its samples in [startMs, endMs]. */
/**
 * What a selector's samples are for, so a source may answer from coarser data: the query's step
 * (0 for an instant query) and the window each evaluation looks at (the range of `x[5m]`, or the
 * lookback for an instant selector). Samples one per `windowMs / 2` still give every window two.
 */
export interface SelectHints {
  stepMs: number;
  windowMs: number;
}

export interface SeriesSource {
  select(
    matchers: readonly LabelMatcher[],
    startMs: number,
    endMs: number,
    signal?: AbortSignal,
    hints?: SelectHints,
  ): Promise<RawSeries[]>;
}

export interface EvalOptions {
  /** How far back an instant selector looks for a sample; Prometheus' --query.lookback-delta. */
  lookbackDeltaMs?: number;
  /** Samples loaded plus points computed; beyond it the query fails with PromqlLimitError('samples'). */
  maxSamples?: number;
  /** Aborted → PromqlLimitError('timeout'). */
  signal?: AbortSignal;
}

/** Exactly the Prometheus HTTP API `data` object. */
export type QueryResult =
  | { resultType: 'matrix'; result: { metric: Labels; values: [number, string][] }[] }
  | { resultType: 'vector'; result: { metric: Labels; value: [number, string] }[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

export const DEFAULT_LOOKBACK_DELTA_MS = 300_000;
export const DEFAULT_MAX_SAMPLES = 50_000_000;

/** A series over all steps: `present[i]` says whether step i has a sample (NaN is a value). */
interface StepSeries {
  labels: Labels;
  values: Float64Array;
  present: Uint8Array;
  /** Sample timestamps (ms) per step, kept for timestamp() of a plain selector. */
  times?: Float64Array;
}

type Value =
  | { type: 'scalar'; values: Float64Array }
  | { type: 'string'; value: string }
  | { type: 'vector'; series: StepSeries[] }
  | { type: 'matrix'; node: MatrixSelector };

interface Fetched {
  labels: Labels;
  ts: Float64Array;
  vals: Float64Array;
  /** The part of the arrays inside the fetched window: [lo, hi). */
  lo: number;
  hi: number;
}

/** Every vector selector of an expression, with the range and offset it is read with. */
export function selectorsOf(expr: Expr): { matchers: LabelMatcher[]; rangeMs: number; offsetMs: number }[] {
  return collectSelectors(expr).map(({ selector, rangeMs }) => ({
    matchers: selector.matchers.map((m) => ({ ...m })),
    rangeMs,
    offsetMs: selector.offsetMs,
  }));
}

function collectSelectors(expr: Expr): { selector: VectorSelector; rangeMs: number }[] {
  const out: { selector: VectorSelector; rangeMs: number }[] = [];
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'vectorSelector':
        out.push({ selector: e, rangeMs: 0 });
        break;
      case 'matrixSelector':
        out.push({ selector: e.selector, rangeMs: e.rangeMs });
        break;
      case 'call':
        e.args.forEach(walk);
        break;
      case 'aggregate':
        if (e.param !== null) walk(e.param);
        walk(e.expr);
        break;
      case 'binary':
        walk(e.lhs);
        walk(e.rhs);
        break;
      case 'unary':
      case 'paren':
        walk(e.expr);
        break;
      default:
        break;
    }
  };
  walk(expr);
  return out;
}

const unwrapParens = (e: Expr): Expr => (e.kind === 'paren' ? unwrapParens(e.expr) : e);

function lowerBound(ts: Float64Array, from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(ts: Float64Array, from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Go math.Pow special cases JavaScript's `**` answers differently. */
function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** engine.go vectorElemBinop: the value and whether a comparison keeps the sample. */
function elemBinop(op: BinaryOp, lhs: number, rhs: number): [number, boolean] {
  switch (op) {
    case '+':
      return [lhs + rhs, true];
    case '-':
      return [lhs - rhs, true];
    case '*':
      return [lhs * rhs, true];
    case '/':
      return [lhs / rhs, true];
    case '%':
      return [lhs % rhs, true];
    case '^':
      return [goPow(lhs, rhs), true];
    case 'atan2':
      return [Math.atan2(lhs, rhs), true];
    case '==':
      return [lhs, lhs === rhs];
    case '!=':
      return [lhs, lhs !== rhs];
    case '>':
      return [lhs, lhs > rhs];
    case '<':
      return [lhs, lhs < rhs];
    case '>=':
      return [lhs, lhs >= rhs];
    case '<=':
      return [lhs, lhs <= rhs];
    default:
      throw new PromqlEvalError(`operator '${op}' not allowed between these operands`);
  }
}

/** Go math.Log2: exact for powers of two. */
function goLog2(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return Math.log2(x);
  let exp = Math.floor(Math.log2(x)) + 1;
  let frac = x / 2 ** exp;
  // Correct for rounding in Math.log2 near powers of two so that frac is in [0.5, 1).
  if (frac >= 1) {
    frac /= 2;
    exp++;
  } else if (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  if (frac === 0.5) return exp - 1;
  return Math.log(frac) * Math.LOG2E + exp;
}

const MATH_FUNCTIONS: Readonly<Record<string, (v: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  ln: Math.log,
  log2: goLog2,
  log10: (v) => Math.log(v) * Math.LOG10E,
  sqrt: Math.sqrt,
  sgn: (v) => (v < 0 ? -1 : v > 0 ? 1 : v),
};

/** Go regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups expand to "". */
function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let k = 0;
  while (k < template.length) {
    const c = template[k];
    if (c !== '$') {
      out += c;
      k++;
      continue;
    }
    if (template[k + 1] === '$') {
      out += '$';
      k += 2;
      continue;
    }
    let name: string | undefined;
    let end: number;
    if (template[k + 1] === '{') {
      const close = template.indexOf('}', k + 2);
      const inner = close < 0 ? '' : template.slice(k + 2, close);
      if (close < 0 || !/^\w+$/.test(inner)) {
        out += '$';
        k++;
        continue;
      }
      name = inner;
      end = close + 1;
    } else {
      const m = /^\w+/.exec(template.slice(k + 1));
      if (m === null) {
        out += '$';
        k++;
        continue;
      }
      name = m[0];
      end = k + 1 + name.length;
    }
    if (/^\d+$/.test(name)) out += match[Number(name)] ?? '';
    else out += match.groups?.[name] ?? '';
    k = end;
  }
  return out;
}

/** Collects output series by label set; two samples for one label set at one step is an error. */
class Collector {
  readonly series: StepSeries[] = [];
  private readonly byKey = new Map<string, StepSeries>();

  constructor(private readonly steps: number) {}

  get(labels: Labels): StepSeries {
    const key = labelsKey(labels);
    let series = this.byKey.get(key);
    if (series === undefined) {
      series = { labels, values: new Float64Array(this.steps), present: new Uint8Array(this.steps) };
      this.byKey.set(key, series);
      this.series.push(series);
    }
    return series;
  }

  static set(series: StepSeries, step: number, value: number): void {
    if (series.present[step] === 1) {
      throw new PromqlEvalError('vector cannot contain metrics with the same labelset');
    }
    series.present[step] = 1;
    series.values[step] = value;
  }
}

/** A max-heap or min-heap with Go container/heap's exact sift order, so topk ties match Prometheus. */
class GoHeap {
  readonly items: { value: number; index: number }[] = [];

  constructor(private readonly less: (a: number, b: number) => boolean) {}

  private lessAt(i: number, j: number): boolean {
    return this.less((this.items[i] as { value: number }).value, (this.items[j] as { value: number }).value);
  }

  private swap(i: number, j: number): void {
    const t = this.items[i] as { value: number; index: number };
    this.items[i] = this.items[j] as { value: number; index: number };
    this.items[j] = t;
  }

  private up(j0: number): void {
    let j = j0;
    for (;;) {
      const i = Math.floor((j - 1) / 2);
      if (i === j || j <= 0 || !this.lessAt(j, i)) break;
      this.swap(i, j);
      j = i;
    }
  }

  private down(i0: number, n: number): boolean {
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.lessAt(j2, j1)) j = j2;
      if (!this.lessAt(j, i)) break;
      this.swap(i, j);
      i = j;
    }
    return i > i0;
  }

  push(value: number, index: number): void {
    this.items.push({ value, index });
    this.up(this.items.length - 1);
  }

  replaceTop(value: number, index: number): void {
    this.items[0] = { value, index };
    if (!this.down(0, this.items.length)) this.up(0);
  }
}

/** vectorByValueHeap.Less (topk) and vectorByReverseValueHeap.Less (bottomk). */
const topkLess = (a: number, b: number): boolean => (Number.isNaN(a) && !Number.isNaN(b)) || a < b;
const bottomkLess = (a: number, b: number): boolean => (Number.isNaN(a) && !Number.isNaN(b)) || a > b;

class Evaluator {
  readonly n: number;
  private samples = 0;
  private readonly fetched = new Map<VectorSelector, Fetched[]>();

  constructor(
    private readonly source: SeriesSource,
    readonly steps: Float64Array,
    private readonly lookbackMs: number,
    private readonly maxSamples: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.n = steps.length;
  }

  checkAbort(): void {
    if (this.signal?.aborted === true) {
      throw new PromqlLimitError(
        'timeout',
        'query timed out or was cancelled; narrow the time range or the series',
      );
    }
  }

  private account(count: number): void {
    this.samples += count;
    if (this.samples > this.maxSamples) {
      throw new PromqlLimitError(
        'samples',
        `query processing would load too many samples into memory (limit ${this.maxSamples}); narrow the time range, the step or the series`,
      );
    }
  }

  /** Fetches every selector's window once, in parallel (engine.go populateSeries). */
  async fetchAll(expr: Expr): Promise<void> {
    const start = this.steps[0] as number;
    const end = this.steps[this.n - 1] as number;
    await Promise.all(
      collectSelectors(expr).map(async ({ selector, rangeMs }) => {
        const minT = start - selector.offsetMs - (rangeMs > 0 ? rangeMs : this.lookbackMs);
        const maxT = end - selector.offsetMs;
        const hints = {
          stepMs: this.n > 1 ? (this.steps[1] as number) - start : 0,
          windowMs: rangeMs > 0 ? rangeMs : this.lookbackMs,
        };
        const raw = await this.source.select(selector.matchers, minT, maxT, this.signal, hints);
        this.checkAbort();
        const series: (Fetched & { key: string })[] = [];
        for (const r of raw) {
          if (!matchesAll(r.labels, selector.matchers)) continue;
          const lo = lowerBound(r.timestampsMs, 0, r.timestampsMs.length, minT);
          const hi = upperBound(r.timestampsMs, lo, r.timestampsMs.length, maxT);
          this.account(hi - lo);
          const labels = cleanLabels(r.labels);
          series.push({ labels, ts: r.timestampsMs, vals: r.values, lo, hi, key: labelsKey(labels) });
        }
        // Storage returns series sorted by labels; aggregation order (and so float sums) follows it.
        series.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        this.fetched.set(selector, series);
      }),
    );
  }

  fetchedFor(selector: VectorSelector): Fetched[] {
    return this.fetched.get(selector) ?? [];
  }

  eval(expr: Expr): Value {
    this.checkAbort();
    const value = this.evalNode(expr);
    if (value.type === 'vector') {
      let points = 0;
      for (const s of value.series) for (let i = 0; i < this.n; i++) points += s.present[i] as number;
      this.account(points);
    }
    return value;
  }

  private evalNode(expr: Expr): Value {
    switch (expr.kind) {
      case 'number':
        return { type: 'scalar', values: new Float64Array(this.n).fill(expr.value) };
      case 'string':
        return { type: 'string', value: expr.value };
      case 'paren':
        return this.eval(expr.expr);
      case 'vectorSelector':
        return { type: 'vector', series: this.evalVectorSelector(expr) };
      case 'matrixSelector':
        return { type: 'matrix', node: expr };
      case 'unary': {
        const inner = this.eval(expr.expr);
        if (expr.op === '+') return inner;
        if (inner.type === 'scalar') return { type: 'scalar', values: inner.values.map((v) => -v) };
        if (inner.type !== 'vector')
          throw new PromqlEvalError('unary minus needs a scalar or an instant vector');
        // engine.go: unary minus drops the metric name.
        const out = new Collector(this.n);
        for (const s of inner.series) {
          const target = out.get(dropMetricName(s.labels));
          for (let i = 0; i < this.n; i++)
            if (s.present[i] === 1) Collector.set(target, i, -(s.values[i] as number));
        }
        return { type: 'vector', series: out.series };
      }
      case 'call':
        return this.evalCall(expr);
      case 'aggregate':
        return { type: 'vector', series: this.evalAggregate(expr) };
      case 'binary':
        return this.evalBinary(expr);
    }
  }

  private scalarArg(expr: Expr): Float64Array {
    const value = this.eval(expr);
    if (value.type !== 'scalar') throw new PromqlEvalError('expected a scalar argument');
    return value.values;
  }

  private vectorArg(expr: Expr): StepSeries[] {
    const value = this.eval(expr);
    if (value.type !== 'vector') throw new PromqlEvalError('expected an instant vector argument');
    return value.series;
  }

  private stringArg(expr: Expr): string {
    const value = this.eval(expr);
    if (value.type !== 'string') throw new PromqlEvalError('expected a string argument');
    return value.value;
  }

  /** engine.go vectorSelectorSingle (2.42): the latest sample in [t - offset - lookback, t - offset]. */
  private evalVectorSelector(selector: VectorSelector): StepSeries[] {
    const out: StepSeries[] = [];
    for (const f of this.fetchedFor(selector)) {
      const values = new Float64Array(this.n);
      const present = new Uint8Array(this.n);
      const times = new Float64Array(this.n);
      let any = false;
      let j = f.lo - 1;
      for (let i = 0; i < this.n; i++) {
        const ref = (this.steps[i] as number) - selector.offsetMs;
        while (j + 1 < f.hi && (f.ts[j + 1] as number) <= ref) j++;
        if (j >= f.lo && (f.ts[j] as number) >= ref - this.lookbackMs) {
          present[i] = 1;
          values[i] = f.vals[j] as number;
          times[i] = f.ts[j] as number;
          any = true;
        }
      }
      if (any) out.push({ labels: f.labels, values, present, times });
    }
    return out;
  }

  /** Range-vector functions: the window [t - offset - range, t - offset], closed in 2.42 (matrixIterSlice). */
  private evalRangeFunction(call: Call): StepSeries[] {
    const matrixArg = unwrapParens(call.args[call.args.length - 1] as Expr);
    if (matrixArg.kind !== 'matrixSelector') {
      throw new PromqlEvalError(`expected a range vector selector in call to function '${call.func}'`);
    }
    const param = call.func === 'quantile_over_time' ? this.scalarArg(call.args[0] as Expr) : undefined;
    const { selector, rangeMs } = matrixArg;
    const offsetMs = selector.offsetMs;
    const fetched = this.fetchedFor(selector);

    if (call.func === 'absent_over_time') {
      const series = {
        labels: absentLabels(matrixArg),
        values: new Float64Array(this.n),
        present: new Uint8Array(this.n),
      };
      for (let i = 0; i < this.n; i++) {
        const maxt = (this.steps[i] as number) - offsetMs;
        const mint = maxt - rangeMs;
        const found = fetched.some((f) => {
          const a = lowerBound(f.ts, f.lo, f.hi, mint);
          return a < f.hi && (f.ts[a] as number) <= maxt;
        });
        if (!found) {
          series.present[i] = 1;
          series.values[i] = 1;
        }
      }
      return [series];
    }

    const fn = RANGE_FUNCTIONS[call.func];
    if (fn === undefined) throw new PromqlEvalError(`function '${call.func}' is not supported`);
    // engine.go: every range function but last_over_time drops the metric name.
    const keepName = call.func === 'last_over_time';
    const ctx: WindowContext = { stepMs: 0, rangeMs, offsetMs, param: 0 };
    const out: StepSeries[] = [];
    const seen = new Set<string>();
    for (const f of fetched) {
      const values = new Float64Array(this.n);
      const present = new Uint8Array(this.n);
      let any = false;
      let a = f.lo;
      let b = f.lo;
      for (let i = 0; i < this.n; i++) {
        const stepMs = this.steps[i] as number;
        const maxt = stepMs - offsetMs;
        const mint = maxt - rangeMs;
        while (a < f.hi && (f.ts[a] as number) < mint) a++;
        if (b < a) b = a;
        while (b < f.hi && (f.ts[b] as number) <= maxt) b++;
        if (b === a) continue;
        ctx.stepMs = stepMs;
        if (param !== undefined) ctx.param = param[i] as number;
        const v = fn(f.ts, f.vals, a, b, ctx);
        if (v !== undefined) {
          values[i] = v;
          present[i] = 1;
          any = true;
        }
      }
      if (!any) continue;
      const labels = keepName ? f.labels : dropMetricName(f.labels);
      const key = labelsKey(labels);
      // engine.go: Matrix.ContainsSameLabelset after a range function.
      if (seen.has(key)) throw new PromqlEvalError('vector cannot contain metrics with the same labelset');
      seen.add(key);
      out.push({ labels, values, present });
    }
    this.checkAbort();
    return out;
  }

  private mapVector(
    input: StepSeries[],
    dropName: boolean,
    fn: (v: number, step: number) => number,
  ): StepSeries[] {
    const out = new Collector(this.n);
    for (const s of input) {
      const target = out.get(dropName ? dropMetricName(s.labels) : s.labels);
      for (let i = 0; i < this.n; i++) {
        if (s.present[i] === 1) Collector.set(target, i, fn(s.values[i] as number, i));
      }
    }
    return out.series;
  }

  private evalCall(call: Call): Value {
    const { func, args } = call;
    if (RANGE_FUNCTIONS[func] !== undefined || func === 'absent_over_time') {
      return { type: 'vector', series: this.evalRangeFunction(call) };
    }
    const math = MATH_FUNCTIONS[func];
    if (math !== undefined) {
      return { type: 'vector', series: this.mapVector(this.vectorArg(args[0] as Expr), true, math) };
    }
    switch (func) {
      case 'time':
        return { type: 'scalar', values: this.steps.map((t) => t / 1000) };
      case 'vector': {
        const values = this.scalarArg(args[0] as Expr);
        return { type: 'vector', series: [{ labels: {}, values, present: new Uint8Array(this.n).fill(1) }] };
      }
      case 'scalar': {
        const input = this.vectorArg(args[0] as Expr);
        const values = new Float64Array(this.n);
        for (let i = 0; i < this.n; i++) {
          let count = 0;
          let value = NaN;
          for (const s of input) {
            if (s.present[i] === 1) {
              count++;
              value = s.values[i] as number;
            }
          }
          values[i] = count === 1 ? value : NaN;
        }
        return { type: 'scalar', values };
      }
      case 'round': {
        const input = this.vectorArg(args[0] as Expr);
        const toNearest =
          args.length > 1 ? this.scalarArg(args[1] as Expr) : new Float64Array(this.n).fill(1);
        return {
          type: 'vector',
          series: this.mapVector(input, true, (v, i) => {
            const inverse = 1 / (toNearest[i] as number);
            return Math.floor(v * inverse + 0.5) / inverse;
          }),
        };
      }
      case 'clamp':
      case 'clamp_min':
      case 'clamp_max': {
        const input = this.vectorArg(args[0] as Expr);
        const first = this.scalarArg(args[1] as Expr);
        const second = func === 'clamp' ? this.scalarArg(args[2] as Expr) : undefined;
        const out = new Collector(this.n);
        for (const s of input) {
          const target = out.get(dropMetricName(s.labels));
          for (let i = 0; i < this.n; i++) {
            if (s.present[i] !== 1) continue;
            const v = s.values[i] as number;
            const a = first[i] as number;
            if (func === 'clamp_min') Collector.set(target, i, goMax(a, v));
            else if (func === 'clamp_max') Collector.set(target, i, goMin(a, v));
            else {
              const max = (second as Float64Array)[i] as number;
              // functions.go funcClamp: an empty result when max < min.
              if (max < a) continue;
              Collector.set(target, i, goMax(a, goMin(max, v)));
            }
          }
        }
        return { type: 'vector', series: out.series.filter((s) => s.present.includes(1)) };
      }
      case 'timestamp': {
        const arg = unwrapParens(args[0] as Expr);
        const input = this.vectorArg(arg);
        const fromSelector = arg.kind === 'vectorSelector';
        const out = new Collector(this.n);
        for (const s of input) {
          const target = out.get(dropMetricName(s.labels));
          for (let i = 0; i < this.n; i++) {
            if (s.present[i] !== 1) continue;
            const t =
              fromSelector && s.times !== undefined ? (s.times[i] as number) : (this.steps[i] as number);
            Collector.set(target, i, t / 1000);
          }
        }
        return { type: 'vector', series: out.series };
      }
      case 'absent': {
        const input = this.vectorArg(args[0] as Expr);
        const series = {
          labels: absentLabels(unwrapParens(args[0] as Expr)),
          values: new Float64Array(this.n),
          present: new Uint8Array(this.n),
        };
        for (let i = 0; i < this.n; i++) {
          if (!input.some((s) => s.present[i] === 1)) {
            series.present[i] = 1;
            series.values[i] = 1;
          }
        }
        return { type: 'vector', series: series.present.includes(1) ? [series] : [] };
      }
      case 'histogram_quantile':
        return { type: 'vector', series: this.evalHistogramQuantile(args) };
      case 'label_replace':
        return { type: 'vector', series: this.evalLabelReplace(args) };
      case 'label_join':
        return { type: 'vector', series: this.evalLabelJoin(args) };
      case 'sort':
      case 'sort_desc':
        return { type: 'vector', series: this.vectorArg(args[0] as Expr) };
      default:
        throw new PromqlEvalError(`function '${func}' is not supported`);
    }
  }

  /** functions.go funcHistogramQuantile: series grouped by all labels but `le`; output drops `le` and the name. */
  private evalHistogramQuantile(args: Expr[]): StepSeries[] {
    const q = this.scalarArg(args[0] as Expr);
    const input = this.vectorArg(args[1] as Expr);
    const groups = new Map<
      string,
      { labels: Labels; members: { series: StepSeries; upperBound: number }[] }
    >();
    for (const s of input) {
      const upperBound = parseGoFloat(s.labels.le ?? '');
      if (upperBound === undefined) continue; // No or malformed `le`: skipped, as Prometheus does.
      const key = labelsKey(removeLabels(s.labels, ['le']));
      let group = groups.get(key);
      if (group === undefined) {
        group = { labels: removeLabels(s.labels, ['le', METRIC_NAME]), members: [] };
        groups.set(key, group);
      }
      group.members.push({ series: s, upperBound });
    }
    const out = new Collector(this.n);
    for (const group of groups.values()) {
      const target = out.get(group.labels);
      for (let i = 0; i < this.n; i++) {
        const buckets: Bucket[] = [];
        for (const m of group.members) {
          if (m.series.present[i] === 1)
            buckets.push({ upperBound: m.upperBound, count: m.series.values[i] as number });
        }
        if (buckets.length > 0) Collector.set(target, i, bucketQuantile(q[i] as number, buckets));
      }
    }
    return out.series.filter((s) => s.present.includes(1));
  }

  private evalLabelReplace(args: Expr[]): StepSeries[] {
    const input = this.vectorArg(args[0] as Expr);
    const dst = this.stringArg(args[1] as Expr);
    const replacement = this.stringArg(args[2] as Expr);
    const src = this.stringArg(args[3] as Expr);
    const regexText = this.stringArg(args[4] as Expr);
    let regex: RegExp;
    try {
      regex = compileGoRegex(regexText, true);
    } catch {
      throw new PromqlEvalError(`invalid regular expression in label_replace(): ${regexText}`);
    }
    if (!isValidLabelName(dst))
      throw new PromqlEvalError(`invalid destination label name in label_replace(): ${dst}`);
    const out = new Collector(this.n);
    for (const s of input) {
      const match = regex.exec(s.labels[src] ?? '');
      let labels = s.labels;
      if (match !== null) {
        const value = expandTemplate(replacement, match);
        labels = removeLabels(s.labels, [dst]);
        if (value !== '') labels = { ...labels, [dst]: value };
      }
      const target = out.get(labels);
      for (let i = 0; i < this.n; i++)
        if (s.present[i] === 1) Collector.set(target, i, s.values[i] as number);
    }
    return out.series;
  }

  private evalLabelJoin(args: Expr[]): StepSeries[] {
    const input = this.vectorArg(args[0] as Expr);
    const dst = this.stringArg(args[1] as Expr);
    const separator = this.stringArg(args[2] as Expr);
    const sources = args.slice(3).map((a) => this.stringArg(a));
    if (!isValidLabelName(dst))
      throw new PromqlEvalError(`invalid destination label name in label_join(): ${dst}`);
    const out = new Collector(this.n);
    for (const s of input) {
      const value = sources.map((name) => s.labels[name] ?? '').join(separator);
      const labels = value === '' ? removeLabels(s.labels, [dst]) : { ...s.labels, [dst]: value };
      const target = out.get(labels);
      for (let i = 0; i < this.n; i++)
        if (s.present[i] === 1) Collector.set(target, i, s.values[i] as number);
    }
    return out.series;
  }

  /** engine.go aggregation (2.42). */
  private evalAggregate(node: Aggregate): StepSeries[] {
    const { op, grouping, without } = node;
    const input = this.vectorArg(node.expr);
    if (op === 'topk' || op === 'bottomk') return this.evalTopk(node, input);
    if (op === 'count_values') return this.evalCountValues(node, input);
    const param = op === 'quantile' ? this.scalarArg(node.param as Expr) : undefined;

    // Group key and output labels once per series.
    const groupOf = new Int32Array(input.length);
    const groupLabels: Labels[] = [];
    const keys = new Map<string, number>();
    input.forEach((s, k) => {
      const key = signature(s.labels, !without, grouping);
      let g = keys.get(key);
      if (g === undefined) {
        g = groupLabels.length;
        keys.set(key, g);
        groupLabels.push(
          without ? removeLabels(dropMetricName(s.labels), grouping) : keepLabels(s.labels, grouping),
        );
      }
      groupOf[k] = g;
    });
    const groups = groupLabels.length;
    const n = this.n;
    const value = new Float64Array(groups * n);
    const mean = new Float64Array(groups * n);
    const count = new Float64Array(groups * n);
    const lists: number[][] | undefined =
      op === 'quantile' ? Array.from({ length: groups * n }, () => []) : undefined;

    for (let k = 0; k < input.length; k++) {
      const s = input[k] as StepSeries;
      const base = (groupOf[k] as number) * n;
      for (let i = 0; i < n; i++) {
        if (s.present[i] !== 1) continue;
        const v = s.values[i] as number;
        const c = base + i;
        const seen = count[c] as number;
        if (seen === 0) {
          count[c] = 1;
          mean[c] = v;
          value[c] = op === 'stddev' || op === 'stdvar' ? 0 : op === 'group' ? 1 : v;
          lists?.[c]?.push(v);
          continue;
        }
        const total = seen + 1;
        count[c] = total;
        switch (op) {
          case 'sum':
            value[c] = (value[c] as number) + v;
            break;
          case 'avg': {
            const m = mean[c] as number;
            if (m === Infinity || m === -Infinity) {
              if ((v === Infinity || v === -Infinity) && m > 0 === v > 0) break;
              if (v !== Infinity && v !== -Infinity && !Number.isNaN(v)) break;
            }
            // Divide each side of the `-` by the count to avoid float64 overflows.
            mean[c] = m + (v / total - m / total);
            break;
          }
          case 'max': {
            const current = value[c] as number;
            if (current < v || Number.isNaN(current)) value[c] = v;
            break;
          }
          case 'min': {
            const current = value[c] as number;
            if (current > v || Number.isNaN(current)) value[c] = v;
            break;
          }
          case 'stddev':
          case 'stdvar': {
            const delta = v - (mean[c] as number);
            const nextMean = (mean[c] as number) + delta / total;
            mean[c] = nextMean;
            value[c] = (value[c] as number) + delta * (v - nextMean);
            break;
          }
          case 'quantile':
            lists?.[c]?.push(v);
            break;
          default:
            break;
        }
      }
    }
    this.checkAbort();

    const out: StepSeries[] = [];
    for (let g = 0; g < groups; g++) {
      const values = new Float64Array(n);
      const present = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const c = g * n + i;
        const total = count[c] as number;
        if (total === 0) continue;
        present[i] = 1;
        switch (op) {
          case 'avg':
            values[i] = mean[c] as number;
            break;
          case 'count':
            values[i] = total;
            break;
          case 'stdvar':
            values[i] = (value[c] as number) / total;
            break;
          case 'stddev':
            values[i] = Math.sqrt((value[c] as number) / total);
            break;
          case 'quantile':
            values[i] = quantile((param as Float64Array)[i] as number, lists?.[c] ?? []);
            break;
          default:
            values[i] = value[c] as number;
        }
      }
      out.push({ labels: groupLabels[g] as Labels, values, present });
    }
    return out;
  }

  private evalTopk(node: Aggregate, input: StepSeries[]): StepSeries[] {
    const kValues = this.scalarArg(node.param as Expr);
    const groupOf = input.map((s) => signature(s.labels, !node.without, node.grouping));
    const outputs: (StepSeries | undefined)[] = new Array<StepSeries | undefined>(input.length);
    const less = node.op === 'topk' ? topkLess : bottomkLess;
    for (let i = 0; i < this.n; i++) {
      if ((i & 63) === 0) this.checkAbort();
      const kf = kValues[i] as number;
      if (!Number.isFinite(kf) || Math.abs(kf) >= 2 ** 63) {
        throw new PromqlEvalError(`Scalar value ${formatGoFloatF(kf)} overflows int64`);
      }
      const k = Math.trunc(kf);
      if (k < 1) continue;
      const heaps = new Map<string, GoHeap>();
      for (let s = 0; s < input.length; s++) {
        const series = input[s] as StepSeries;
        if (series.present[i] !== 1) continue;
        const v = series.values[i] as number;
        const key = groupOf[s] as string;
        let heap = heaps.get(key);
        if (heap === undefined) {
          heap = new GoHeap(less);
          heaps.set(key, heap);
        }
        if (heap.items.length < k) heap.push(v, s);
        else {
          const top = (heap.items[0] as { value: number }).value;
          if (less(top, v)) heap.replaceTop(v, s);
        }
      }
      for (const heap of heaps.values()) {
        for (const item of heap.items) {
          let target = outputs[item.index];
          if (target === undefined) {
            target = {
              labels: (input[item.index] as StepSeries).labels,
              values: new Float64Array(this.n),
              present: new Uint8Array(this.n),
            };
            outputs[item.index] = target;
          }
          target.present[i] = 1;
          target.values[i] = item.value;
        }
      }
    }
    return outputs.filter((s): s is StepSeries => s !== undefined);
  }

  private evalCountValues(node: Aggregate, input: StepSeries[]): StepSeries[] {
    const valueLabel = this.stringArg(node.param as Expr);
    if (!isValidLabelName(valueLabel)) throw new PromqlEvalError(`invalid label name '${valueLabel}'`);
    const grouping = node.without ? node.grouping : [...node.grouping, valueLabel];
    const out = new Collector(this.n);
    for (let i = 0; i < this.n; i++) {
      const counts = new Map<string, { labels: Labels; count: number }>();
      for (const s of input) {
        if (s.present[i] !== 1) continue;
        const labels = { ...s.labels, [valueLabel]: formatGoFloatF(s.values[i] as number) };
        const key = signature(labels, !node.without, grouping);
        const entry = counts.get(key);
        if (entry !== undefined) entry.count++;
        else {
          const groupLabels = node.without
            ? removeLabels(dropMetricName(labels), grouping)
            : keepLabels(labels, grouping);
          counts.set(key, { labels: groupLabels, count: 1 });
        }
      }
      for (const { labels, count } of counts.values()) Collector.set(out.get(labels), i, count);
    }
    return out.series;
  }

  private evalBinary(node: Binary): Value {
    const lhs = this.eval(node.lhs);
    const rhs = this.eval(node.rhs);
    const { op, bool } = node;
    if (lhs.type === 'scalar' && rhs.type === 'scalar') {
      const values = new Float64Array(this.n);
      for (let i = 0; i < this.n; i++) {
        const [v, keep] = elemBinop(op, lhs.values[i] as number, rhs.values[i] as number);
        values[i] = bool ? (keep ? 1 : 0) : v;
      }
      return { type: 'scalar', values };
    }
    if (lhs.type === 'vector' && rhs.type === 'scalar') {
      return { type: 'vector', series: this.vectorScalar(op, lhs.series, rhs.values, false, bool) };
    }
    if (lhs.type === 'scalar' && rhs.type === 'vector') {
      return { type: 'vector', series: this.vectorScalar(op, rhs.series, lhs.values, true, bool) };
    }
    if (lhs.type !== 'vector' || rhs.type !== 'vector' || node.matching === null) {
      throw new PromqlEvalError('binary expression must contain only scalar and instant vector types');
    }
    if (isSetOp(op))
      return { type: 'vector', series: this.setOperation(op, lhs.series, rhs.series, node.matching) };
    return { type: 'vector', series: this.vectorVector(op, lhs.series, rhs.series, node.matching, bool) };
  }

  /** engine.go VectorscalarBinop. */
  private vectorScalar(
    op: BinaryOp,
    vector: StepSeries[],
    scalar: Float64Array,
    swap: boolean,
    bool: boolean,
  ): StepSeries[] {
    const comparison = isComparison(op);
    const out = new Collector(this.n);
    for (const s of vector) {
      const labels = !comparison || bool ? dropMetricName(s.labels) : s.labels;
      let target: StepSeries | undefined;
      for (let i = 0; i < this.n; i++) {
        if (s.present[i] !== 1) continue;
        let lv = s.values[i] as number;
        let rv = scalar[i] as number;
        if (swap) [lv, rv] = [rv, lv];
        let [value, keep] = elemBinop(op, lv, rv);
        // A comparison keeps the vector's value even when the scalar is on the left.
        if (comparison && swap) value = rv;
        if (bool) {
          value = keep ? 1 : 0;
          keep = true;
        }
        if (!keep) continue;
        target ??= out.get(labels);
        Collector.set(target, i, value);
      }
    }
    return out.series;
  }

  /** engine.go VectorBinop: one-to-one and many-to-one / one-to-many matching. */
  private vectorVector(
    op: BinaryOp,
    lhsIn: StepSeries[],
    rhsIn: StepSeries[],
    matching: VectorMatching,
    bool: boolean,
  ): StepSeries[] {
    const oneToMany = matching.card === 'one-to-many';
    // For one-to-many, swap sides and swap the values back when computing.
    const lhs = oneToMany ? rhsIn : lhsIn;
    const rhs = oneToMany ? lhsIn : rhsIn;
    const sig = (s: StepSeries) => signature(s.labels, matching.on, matching.labels);
    const rightGroups = new Map<string, number[]>();
    rhs.forEach((s, k) => {
      const key = sig(s);
      const group = rightGroups.get(key);
      if (group === undefined) rightGroups.set(key, [k]);
      else group.push(k);
    });
    const leftGroups = new Map<string, number[]>();
    lhs.forEach((s, k) => {
      const key = sig(s);
      if (!rightGroups.has(key)) return;
      const group = leftGroups.get(key);
      if (group === undefined) leftGroups.set(key, [k]);
      else group.push(k);
    });

    const out = new Collector(this.n);
    const resultFor = new Map<number, StepSeries>();
    const dropName = !isComparison(op) || bool;
    const resultLabels = (l: Labels, r: Labels): Labels => {
      let labels: Labels = dropName ? dropMetricName(l) : l;
      if (matching.card === 'one-to-one') {
        labels = matching.on ? keepLabels(labels, matching.labels) : removeLabels(labels, matching.labels);
      }
      if (matching.include.length > 0) {
        const next: Record<string, string> = { ...labels };
        for (const name of matching.include) {
          const v = r[name];
          if (v !== undefined && v !== '') next[name] = v;
          else delete next[name];
        }
        labels = next;
      }
      return labels;
    };

    for (const [key, lefts] of leftGroups) {
      const rights = rightGroups.get(key) ?? [];
      for (let i = 0; i < this.n; i++) {
        let r = -1;
        for (const k of rights) {
          if ((rhs[k] as StepSeries).present[i] !== 1) continue;
          if (r >= 0) {
            const side = oneToMany ? 'left' : 'right';
            throw new PromqlEvalError(
              `found duplicate series for the match group on the ${side} hand-side of the operation: [${formatLabels((rhs[k] as StepSeries).labels)}, ${formatLabels((rhs[r] as StepSeries).labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
            );
          }
          r = k;
        }
        if (r < 0) continue;
        const rs = rhs[r] as StepSeries;
        let matched = 0;
        const inserted = new Set<StepSeries>();
        for (const l of lefts) {
          const ls = lhs[l] as StepSeries;
          if (ls.present[i] !== 1) continue;
          let vl = ls.values[i] as number;
          let vr = rs.values[i] as number;
          if (oneToMany) [vl, vr] = [vr, vl];
          const [raw, keep] = elemBinop(op, vl, vr);
          if (!bool && !keep) continue;
          const value = bool ? (keep ? 1 : 0) : raw;
          const pair = l * rhs.length + r;
          let target = resultFor.get(pair);
          if (target === undefined) {
            target = out.get(resultLabels(ls.labels, rs.labels));
            resultFor.set(pair, target);
          }
          if (matching.card === 'one-to-one') {
            if (++matched > 1) {
              throw new PromqlEvalError(
                'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
              );
            }
          } else if (inserted.has(target)) {
            throw new PromqlEvalError(
              'multiple matches for labels: grouping labels must ensure unique results',
            );
          }
          inserted.add(target);
          Collector.set(target, i, value);
        }
      }
    }
    this.checkAbort();
    return out.series;
  }

  /** engine.go VectorAnd / VectorOr / VectorUnless. */
  private setOperation(
    op: BinaryOp,
    lhs: StepSeries[],
    rhs: StepSeries[],
    matching: VectorMatching,
  ): StepSeries[] {
    const sig = (s: StepSeries) => signature(s.labels, matching.on, matching.labels);
    const leftSigs = lhs.map(sig);
    const rightSigs = rhs.map(sig);
    const out = new Collector(this.n);
    const copy = (s: StepSeries, keepAt: (i: number) => boolean): void => {
      let target: StepSeries | undefined;
      for (let i = 0; i < this.n; i++) {
        if (s.present[i] !== 1 || !keepAt(i)) continue;
        target ??= out.get(s.labels);
        Collector.set(target, i, s.values[i] as number);
      }
    };
    const presentSigs = (series: StepSeries[], sigs: string[]): Set<string>[] => {
      const perStep = Array.from({ length: this.n }, () => new Set<string>());
      series.forEach((s, k) => {
        for (let i = 0; i < this.n; i++) if (s.present[i] === 1) perStep[i]?.add(sigs[k] as string);
      });
      return perStep;
    };
    if (op === 'or') {
      const left = presentSigs(lhs, leftSigs);
      lhs.forEach((s) => copy(s, () => true));
      rhs.forEach((s, k) => copy(s, (i) => !(left[i] as Set<string>).has(rightSigs[k] as string)));
    } else {
      const right = presentSigs(rhs, rightSigs);
      const wanted = op === 'and';
      lhs.forEach((s, k) => copy(s, (i) => (right[i] as Set<string>).has(leftSigs[k] as string) === wanted));
    }
    return out.series;
  }
}

function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}

function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

/** functions.go createLabelsForAbsentFunction: labels of the selector's unique equality matchers. */
function absentLabels(expr: Expr): Labels {
  const selector =
    expr.kind === 'vectorSelector' ? expr : expr.kind === 'matrixSelector' ? expr.selector : undefined;
  if (selector === undefined) return {};
  const labels: Record<string, string> = {};
  const ambiguous: string[] = [];
  for (const m of selector.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.op === '=' && labels[m.name] === undefined) labels[m.name] = m.value;
    else ambiguous.push(m.name);
  }
  for (const name of ambiguous) delete labels[name];
  return cleanLabels(labels);
}

function stepTimes(startMs: number, endMs: number, stepMs: number): Float64Array {
  const count = Math.floor((endMs - startMs) / stepMs) + 1;
  const steps = new Float64Array(count);
  for (let i = 0; i < count; i++) steps[i] = startMs + i * stepMs;
  return steps;
}

function makeEvaluator(source: SeriesSource, steps: Float64Array, options: EvalOptions): Evaluator {
  return new Evaluator(
    source,
    steps,
    options.lookbackDeltaMs ?? DEFAULT_LOOKBACK_DELTA_MS,
    options.maxSamples ?? DEFAULT_MAX_SAMPLES,
    options.signal,
  );
}

const byLabels = (a: { metric: Labels }, b: { metric: Labels }): number => {
  const x = labelsKey(a.metric);
  const y = labelsKey(b.metric);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** An instant query at `timeMs`, as Prometheus' /api/v1/query. */
export async function evaluateInstant(
  expr: Expr,
  source: SeriesSource,
  timeMs: number,
  options: EvalOptions = {},
): Promise<QueryResult> {
  const evaluator = makeEvaluator(source, Float64Array.of(timeMs), options);
  evaluator.checkAbort();
  await evaluator.fetchAll(expr);
  const value = evaluator.eval(expr);
  const t = timeMs / 1000;
  switch (value.type) {
    case 'scalar':
      return { resultType: 'scalar', result: [t, formatSampleValue(value.values[0] as number)] };
    case 'string':
      return { resultType: 'string', result: [t, value.value] };
    case 'vector': {
      const result = value.series
        .filter((s) => s.present[0] === 1)
        .map((s) => ({ labels: s.labels, v: s.values[0] as number }));
      const top = unwrapParens(expr);
      if (top.kind === 'call' && (top.func === 'sort' || top.func === 'sort_desc')) {
        const sign = top.func === 'sort' ? 1 : -1;
        // functions.go funcSort / funcSortDesc: NaN sorts first for sort and last for sort_desc.
        result.sort((a, b) => sign * compareFloats(a.v, b.v));
      }
      return {
        resultType: 'vector',
        result: result.map(({ labels, v }) => ({
          metric: cleanLabels(labels),
          value: [t, formatSampleValue(v)],
        })),
      };
    }
    case 'matrix': {
      const { selector, rangeMs } = value.node;
      const maxt = timeMs - selector.offsetMs;
      const mint = maxt - rangeMs;
      const result: { metric: Labels; values: [number, string][] }[] = [];
      for (const f of evaluator.fetchedFor(selector)) {
        const a = lowerBound(f.ts, f.lo, f.hi, mint);
        const b = upperBound(f.ts, a, f.hi, maxt);
        if (b === a) continue;
        const values: [number, string][] = [];
        for (let k = a; k < b; k++)
          values.push([(f.ts[k] as number) / 1000, formatSampleValue(f.vals[k] as number)]);
        result.push({ metric: f.labels, values });
      }
      return { resultType: 'matrix', result };
    }
  }
}

/** A range query over [startMs, endMs] every stepMs, as Prometheus' /api/v1/query_range. */
export async function evaluateRange(
  expr: Expr,
  source: SeriesSource,
  startMs: number,
  endMs: number,
  stepMs: number,
  options: EvalOptions = {},
): Promise<QueryResult> {
  if (!(stepMs > 0))
    throw new PromqlEvalError('zero or negative query resolution step widths are not accepted');
  if (endMs < startMs) throw new PromqlEvalError('end timestamp must not be before start time');
  const steps = stepTimes(startMs, endMs, stepMs);
  const evaluator = makeEvaluator(source, steps, options);
  evaluator.checkAbort();
  await evaluator.fetchAll(expr);
  const value = evaluator.eval(expr);
  if (value.type === 'matrix' || value.type === 'string') {
    const name = value.type === 'matrix' ? 'range vector' : 'string';
    throw new PromqlEvalError(
      `invalid expression type "${name}" for range query, must be Scalar or instant Vector`,
    );
  }
  const series: StepSeries[] =
    value.type === 'scalar'
      ? [{ labels: {}, values: value.values, present: new Uint8Array(steps.length).fill(1) }]
      : value.series;
  const result: { metric: Labels; values: [number, string][] }[] = [];
  for (const s of series) {
    const values: [number, string][] = [];
    for (let i = 0; i < steps.length; i++) {
      if (s.present[i] === 1)
        values.push([(steps[i] as number) / 1000, formatSampleValue(s.values[i] as number)]);
    }
    if (values.length > 0) result.push({ metric: cleanLabels(s.labels), values });
  }
  result.sort(byLabels);
  return { resultType: 'matrix', result };
}
