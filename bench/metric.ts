/** One benchmark figure: a line of `npm run bench` output. */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The figure the issue asks for, where it names one. */
  target?: number;
}
