import type { Dist } from "./types.js";

/** Nearest-rank percentiles of a sample (milliseconds in, milliseconds out). */
export function distribution(values: readonly number[]): Dist {
  if (values.length === 0) return { n: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

/** Mean of the finite numbers given; NaN when there are none. */
export function mean(values: readonly (number | null | undefined)[]): number {
  const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** A growable list of (time, value) samples kept in typed arrays. */
export class Samples {
  private times = new Float64Array(1024);
  private values = new Float64Array(1024);
  private size = 0;

  push(time: number, value: number): void {
    if (this.size === this.times.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.times = grow(this.times);
      this.values = grow(this.values);
    }
    this.times[this.size] = time;
    this.values[this.size] = value;
    this.size++;
  }

  /** Values whose time lies in [from, to]. */
  within(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const t = this.times[i]!;
      if (t >= from && t <= to) out.push(this.values[i]!);
    }
    return out;
  }

  get length(): number {
    return this.size;
  }
}
