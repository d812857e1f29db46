/** The median, minimum and maximum of a set of measurements. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spreadOf(values: number[]): Spread {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN };

  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;

  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}
