/**
 * Fewer points for a chart than the data has: a day of minute samples is 1,440 points a series,
 * more than a 720-pixel-wide chart can show and the main cost of rendering. Each bucket keeps its
 * worst point (the highest, or the lowest where low is bad), so a spike across a threshold is
 * never averaged away from the picture.
 */
import type { ChartPoint } from './chart-model.js';

export function downsampleKeepingWorst(points: readonly ChartPoint[], maxPoints: number, worse: 'higher' | 'lower'): ChartPoint[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new RangeError(`maxPoints must be a positive whole number, not ${maxPoints}`);
  if (points.length <= maxPoints) return [...points];
  const bucketSize = points.length / maxPoints;
  const kept: ChartPoint[] = [];
  for (let bucket = 0; bucket < maxPoints; bucket += 1) {
    const start = Math.floor(bucket * bucketSize);
    const end = Math.floor((bucket + 1) * bucketSize);
    let worst = points[start]!;
    for (let index = start + 1; index < end; index += 1) {
      const point = points[index]!;
      if (worse === 'higher' ? point.value > worst.value : point.value < worst.value) worst = point;
    }
    kept.push(worst);
  }
  return kept;
}
