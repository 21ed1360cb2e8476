import type { SeriesPoints } from './store.js';

/** What a series read returns per point: plain values, histogram buckets, or rollup rows. */
export type PointsShape = 'value' | 'histogram' | 'rollup';

/** Collects one series' points as a store reads them, into the typed arrays of SeriesPoints. */
export class PointsBuilder {
  private readonly timestamps: number[] = [];
  private readonly values: number[] = [];
  private readonly bounds: number[][] = [];
  private readonly counts: number[][] = [];
  private readonly sums: number[] = [];
  private readonly deltas: number[] = [];
  private readonly histDeltas: number[] = [];
  private readonly histSumDeltas: number[] = [];

  constructor(private readonly shape: PointsShape) {}

  add(ms: number, value: number): void {
    this.timestamps.push(ms);
    this.values.push(value);
  }

  addHistogram(ms: number, count: number, sum: number, bounds: number[], counts: number[]): void {
    this.timestamps.push(ms);
    this.values.push(count);
    this.sums.push(sum);
    this.bounds.push(bounds);
    this.counts.push(counts);
  }

  addRollup(ms: number, last: number, delta: number, histDelta: number, histSumDelta: number): void {
    this.timestamps.push(ms);
    this.values.push(last);
    this.deltas.push(delta);
    this.histDeltas.push(histDelta);
    this.histSumDeltas.push(histSumDelta);
  }

  build(): SeriesPoints {
    const points: SeriesPoints = {
      timestampsMs: Float64Array.from(this.timestamps),
      values: Float64Array.from(this.values),
    };
    if (this.shape === 'histogram') {
      points.histogram = { sums: Float64Array.from(this.sums), bounds: this.bounds, counts: this.counts };
    }
    if (this.shape === 'rollup') {
      points.rollup = {
        deltas: Float64Array.from(this.deltas),
        histCountDeltas: Float64Array.from(this.histDeltas),
        histSumDeltas: Float64Array.from(this.histSumDeltas),
      };
    }
    return points;
  }
}
