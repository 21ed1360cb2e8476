/**
 * A small line of one value over time, drawn as SVG (no axes: the row's figures say the scale).
 * Points are [seconds, value]; the x range is given so that lines of a table share one time axis.
 */
export function Sparkline({
  points,
  xRange,
  label,
}: {
  points: ReadonlyArray<readonly [number, number]>;
  xRange: readonly [number, number];
  label: string;
}) {
  const width = 120;
  const height = 24;
  const max = points.reduce((m, [, v]) => Math.max(m, v), 0);
  const [x0, x1] = xRange;
  const span = x1 > x0 ? x1 - x0 : 1;
  const coordinates = points
    .map(([t, v]) => {
      const x = ((t - x0) / span) * width;
      const y = max === 0 ? height - 1 : height - 1 - (v / max) * (height - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return (
    <svg
      className="sparkline"
      width={width}
      height={height}
      role="img"
      aria-label={label}
      data-points={points.length}
    >
      {points.length === 0 ? null : (
        <polyline points={coordinates} fill="none" stroke="currentColor" strokeWidth="1.2" />
      )}
    </svg>
  );
}
