import type { SagaType } from "./api.js";

/** A step as drawn: what kind it is, whether it runs only on a condition, what undoes it. */
export interface DiagramStep {
  name: string;
  kind: string;
  detail: string;
  conditional: boolean;
  compensable: boolean;
}
export type DiagramNode =
  { kind: "step"; step: DiagramStep } | { kind: "parallel"; name: string; branches: DiagramStep[] };

type Doc = Record<string, unknown>;
const str = (v: unknown, fallback = "") =>
  typeof v === "string" || typeof v === "number" ? String(v) : fallback;
const isDoc = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

function leaf(raw: Doc): DiagramStep {
  const kind = typeof raw.kind === "string" ? raw.kind : "http";
  const request = isDoc(raw.request) ? raw.request : {};
  const detail =
    kind === "http"
      ? `${str(request.method, "POST")} ${str(request.service)}${str(request.path)}`
      : kind === "wait"
        ? `wait for ${String(raw.event)}`
        : kind === "sleep"
          ? `sleep ${String(raw.seconds)} s`
          : kind === "saga"
            ? `child saga ${String(raw.saga)}`
            : kind === "publish"
              ? `publish ${String(isDoc(raw.event) ? raw.event.type : "")}`
              : kind;
  return {
    name: String(raw.name),
    kind,
    detail,
    conditional: raw.when !== undefined,
    compensable: kind === "http" ? isDoc(raw.compensation) : kind === "saga",
  };
}

/** The nodes of a definition document (JSON/YAML format of docs/definitions.md). */
export function nodesOfDocument(doc: unknown): DiagramNode[] {
  if (!isDoc(doc) || !Array.isArray(doc.steps)) return [];
  return doc.steps.filter(isDoc).map((s) =>
    Array.isArray(s.parallel)
      ? {
          kind: "parallel" as const,
          name: String(s.name),
          branches: s.parallel.filter(isDoc).map(leaf),
        }
      : { kind: "step" as const, step: leaf(s) },
  );
}

/** The nodes of a type the server runs (for sagas defined in code, which have no document). */
export function nodesOfType(version: SagaType["versions"][number]): DiagramNode[] {
  const nodes: DiagramNode[] = [];
  for (const s of version.steps) {
    const step: DiagramStep = {
      name: s.name,
      kind: "step",
      detail: "",
      conditional: s.conditional,
      compensable: s.compensable,
    };
    const last = nodes[nodes.length - 1];
    if (s.group && last?.kind === "parallel" && last.name === s.group) last.branches.push(step);
    else if (s.group) nodes.push({ kind: "parallel", name: s.group, branches: [step] });
    else nodes.push({ kind: "step", step });
  }
  return nodes;
}

const W = 200;
const H = 46;
const GAP = 26;
const PAD = 12;
const ICON: Record<string, string> = {
  http: "⇄",
  publish: "📣",
  wait: "⏳",
  sleep: "☾",
  saga: "⧉",
  step: "▸",
};

/**
 * The flow top to bottom (parallel groups side by side in a frame, ◇ on conditional steps) and,
 * on the right, the compensations bottom to top: dashed edges from each step to what undoes it.
 */
export function Diagram({ nodes, title }: { nodes: DiagramNode[]; title: string }) {
  const widest = Math.max(1, ...nodes.map((n) => (n.kind === "parallel" ? n.branches.length : 1)));
  const flowW = widest * (W + GAP) - GAP + 2 * PAD;
  const undoX = flowW + 70;
  const boxes: { step: DiagramStep; x: number; y: number }[] = [];
  const frames: { name: string; x: number; y: number; w: number; h: number }[] = [];
  const centers: number[] = [];
  let y = PAD + 20;
  for (const node of nodes) {
    const branches = node.kind === "parallel" ? node.branches : [node.step];
    const rowW = branches.length * (W + GAP) - GAP;
    const x0 = (flowW - rowW) / 2;
    if (node.kind === "parallel")
      frames.push({ name: node.name, x: x0 - 8, y: y - 18, w: rowW + 16, h: H + 26 });
    branches.forEach((step, i) => boxes.push({ step, x: x0 + i * (W + GAP), y }));
    centers.push(y);
    y += H + GAP + (node.kind === "parallel" ? 14 : 0);
  }
  // Compensations of one parallel group sit side by side, like their steps.
  const undo = boxes
    .filter((b) => b.step.compensable)
    .map((b, i, all) => ({
      ...b,
      ux: undoX + all.slice(0, i).filter((o) => o.y === b.y).length * (W + GAP),
    }));
  const height = Math.max(y, PAD + 20) + 10;
  const width = undo.length > 0 ? Math.max(...undo.map((u) => u.ux)) + W + PAD : flowW;
  return (
    <svg
      class="diagram"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`${title}: ${nodes.length} step(s); compensations run in reverse order`}
      style={{ maxWidth: `${width}px` }}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="6"
          markerHeight="6"
          orient="auto-start-reverse"
        >
          <path d="M0,0 L10,5 L0,10 z" fill="currentColor" />
        </marker>
      </defs>
      <text x={flowW / 2} y={14} class="d-head" text-anchor="middle">
        forward
      </text>
      {undo.length > 0 ? (
        <text x={undoX + W / 2} y={14} class="d-head" text-anchor="middle">
          compensation (reverse)
        </text>
      ) : null}
      {centers.slice(1).map((cy, i) => (
        <line
          key={i}
          x1={flowW / 2}
          y1={centers[i]! + H}
          x2={flowW / 2}
          y2={cy - (frames.some((f) => f.y + 18 === cy) ? 18 : 0)}
          class="d-edge"
          marker-end="url(#arrow)"
        />
      ))}
      {frames.map((f) => (
        <g key={f.name}>
          <rect x={f.x} y={f.y} width={f.w} height={f.h} rx="8" class="d-frame" />
          <text x={f.x + 8} y={f.y + 12} class="d-small">
            parallel: {f.name}
          </text>
        </g>
      ))}
      {boxes.map((b) => (
        <g key={b.step.name} class={`d-step k-${b.step.kind}`}>
          <rect x={b.x} y={b.y} width={W} height={H} rx="6" />
          <text x={b.x + 10} y={b.y + 19} class="d-name">
            {ICON[b.step.kind] ?? "▸"} {b.step.conditional ? "◇ " : ""}
            {b.step.name.length > 23 ? `${b.step.name.slice(0, 22)}…` : b.step.name}
          </text>
          <text x={b.x + 10} y={b.y + 36} class="d-small">
            {(b.step.conditional ? "if … " : "") +
              (b.step.detail.length > 30 ? `${b.step.detail.slice(0, 29)}…` : b.step.detail)}
          </text>
        </g>
      ))}
      {undo.map((b, i) => {
        const next = undo[i - 1];
        return (
          <g key={`undo-${b.step.name}`} class="d-undo">
            <line
              x1={b.x + W}
              y1={b.y + H / 2}
              x2={b.ux}
              y2={b.y + H / 2}
              class="d-comp"
              marker-end="url(#arrow)"
            />
            <rect x={b.ux} y={b.y} width={W} height={H} rx="6" />
            <text x={b.ux + 10} y={b.y + 27} class="d-name">
              ↶ undo {b.step.name.length > 20 ? `${b.step.name.slice(0, 19)}…` : b.step.name}
            </text>
            {next && next.y !== b.y ? (
              <line
                x1={b.ux + W / 2}
                y1={b.y}
                x2={next.ux + W / 2}
                y2={next.y + H}
                class="d-comp"
                marker-end="url(#arrow)"
              />
            ) : null}
          </g>
        );
      })}
    </svg>
  );
}
