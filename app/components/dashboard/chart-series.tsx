// A time chart's series as data (the pool's, the repository's): the field each draws, its name,
// colour and mark. One table feeds the chart's areas and lines, their gradients and the legend.
import { Area, Line } from "recharts";
import { AreaGradient, type LegendItem } from "./chart-parts";

export type Series = LegendItem & {
  /** The chart data's field it draws. */
  dataKey: string;
  strokeWidth: number;
  /** How the line runs from point to point; "monotone" unless said. */
  curve?: "monotone" | "stepAfter";
  /** An area's gradient, by an id unique on the page. */
  gradientId?: string;
};

/** The area series' gradients, for the chart's <defs>. */
export function seriesGradients(series: Series[]) {
  return series.map(({ gradientId, color }) =>
    gradientId ? <AreaGradient key={gradientId} id={gradientId} color={color} /> : null,
  );
}

/**
 * The series as the chart's own children (Recharts reads them): an area with its gradient, a
 * line, or a dashed line (a peak, a limit). `dot` marks each point (when there are few).
 */
export function seriesElements(series: Series[], dot: boolean) {
  return series.map(({ dataKey, label, color, mark, strokeWidth, curve = "monotone", gradientId }) => {
    const drawn = { type: curve, dataKey, name: label, stroke: color, strokeWidth, dot, isAnimationActive: false };
    if (mark === "area") return <Area key={dataKey} {...drawn} fill={`url(#${gradientId})`} />;
    return <Line key={dataKey} {...drawn} strokeDasharray={mark === "dashed" ? "4 3" : undefined} />;
  });
}
