import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cssVar } from '../theme.js';

/** Distinct on dark and light backgrounds; series take them in order, services by hash. */
export const PALETTE = [
  '#3b82f6',
  '#f59e0b',
  '#10b981',
  '#ef4444',
  '#8b5cf6',
  '#06b6d4',
  '#ec4899',
  '#84cc16',
  '#f97316',
  '#14b8a6',
];

export function colourFor(name: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length] ?? '#3b82f6';
}

export interface ChartSeries {
  label: string;
  colour?: string;
}

export interface TimeChartProps {
  /** x in seconds, then one array per series (null: no value). */
  data: uPlot.AlignedData;
  series: ChartSeries[];
  kind: 'line' | 'bars';
  height: number;
  ariaLabel: string;
  /** Called with a dragged selection, in epoch ms. */
  onSelect?: (fromMs: number, toMs: number) => void;
  legend?: boolean;
  formatValue?: (value: number) => string;
  /** The time range asked for, in seconds: the axis spans it even where there is no data. */
  xRange?: readonly [number, number];
}

function useThemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = (): void => setVersion((v) => v + 1);
    window.addEventListener('sightline-theme', bump);
    return () => window.removeEventListener('sightline-theme', bump);
  }, []);
  return version;
}

/** uPlot on a canvas: fast with many points; rebuilt when the data, series or theme change. */
export function TimeChart(props: TimeChartProps) {
  const { data, series, kind, height, onSelect, legend = true, formatValue, xRange } = props;
  const [xMin, xMax] = xRange ?? [null, null];
  const host = useRef<HTMLDivElement>(null);
  const themeVersion = useThemeVersion();
  const selectRef = useRef(onSelect);
  selectRef.current = onSelect;

  useEffect(() => {
    const element = host.current;
    if (element === null) return undefined;
    const text = cssVar('--text-muted') || '#888';
    const grid = cssVar('--border') || '#333';
    const axis: uPlot.Axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
    };
    const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 300),
      height,
      legend: { show: legend },
      cursor: { drag: { x: onSelect !== undefined, y: false } },
      scales: {
        x: {
          time: true,
          ...(xMin === null || xMax === null ? {} : { range: (): uPlot.Range.MinMax => [xMin, xMax] }),
        },
      },
      axes: [
        axis,
        {
          ...axis,
          size: 60,
          ...(formatValue === undefined
            ? {}
            : { values: (_u: uPlot, ticks: number[]) => ticks.map((v) => formatValue(v)) }),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => {
          const colour = s.colour ?? PALETTE[i % PALETTE.length] ?? '#3b82f6';
          return kind === 'bars'
            ? { label: s.label, stroke: colour, fill: `${colour}aa`, paths: bars, points: { show: false } }
            : // uPlot's default shows points only where they are sparse: a series of one point stays visible.
              { label: s.label, stroke: colour, width: 1.5, spanGaps: false };
        }),
      ],
      hooks: {
        setSelect: [
          (u: uPlot) => {
            if (u.select.width < 2) return;
            const from = u.posToVal(u.select.left, 'x') * 1000;
            const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            selectRef.current?.(Math.round(from), Math.round(to));
          },
        ],
      },
    };
    const plot = new uPlot(options, data, element);
    const observer = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(element.clientWidth, 300), height }),
    );
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [data, series, kind, height, legend, themeVersion, onSelect === undefined, formatValue, xMin, xMax]);

  return <div className="chart" ref={host} role="img" aria-label={props.ariaLabel} />;
}
