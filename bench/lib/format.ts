/** Small formatting helpers for the Markdown report. */
export function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Milliseconds with a precision that suits the size. */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v < 10 ? num(v, 2) : v < 100 ? num(v, 1) : num(v, 0);
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : `${num(v * 100, digits)} %`;
}

/** A target's verdict: null when what it needs was not measured. */
export function verdict(ok: boolean | null): string {
  return ok === null ? "not measured" : ok ? "met" : "**missed**";
}

export function finite(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}
