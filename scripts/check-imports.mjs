#!/usr/bin/env node
// Checks the dependency rules of DESIGN.md/STYLE.md on src/: layers point inward, core is pure,
// only composition roots import adapters, and there are no import cycles. Exits 1 on a breach.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..", "src");
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith(".ts")) files.push(path);
  }
})(root);

// layer -> layers (top folders under src/) it may import; "." is a file directly in src/.
const allowed = {
  core: ["core"],
  engine: ["core", "engine"],
  store: ["core", "engine", "store"],
  bus: ["core", "engine", "bus"],
  steps: ["core", "engine", "steps"],
  definitions: ["core", "engine", "steps", "definitions"],
  telemetry: ["core", "engine", "telemetry"],
  config: ["core", "config"],
  api: ["core", "engine", "config", "telemetry", "api", "steps", "definitions"],
  testing: ["core", "testing"],
  // The package's subpath entry points (`saga-orchestrator/bus`…): they re-export what users of
  // the library need, never the service (api, config, cli).
  entry: ["core", "engine", "store", "bus", "steps", "definitions", "telemetry", "testing"],
  cli: null, // composition root: anything
  ".": null, // composition roots (create-orchestrator.ts, index.ts)
};
const layerOf = (file) => {
  const rel = relative(root, file).split("/");
  return rel.length === 1 ? "." : rel[0];
};

const problems = [];
const graph = new Map();
const importRe =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const layer = layerOf(file);
  const edges = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    const where = relative(root, file);
    if (spec.startsWith(".")) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
      edges.push(target);
      const targetLayer = layerOf(target);
      const ok = allowed[layer];
      // engine may import only the store *port*, which lives in engine/ — never an adapter.
      if (ok && !ok.includes(targetLayer))
        problems.push(`${where}: ${layer}/ must not import ${targetLayer}/ (${spec})`);
      // Entry points are what users import; the code imports the modules themselves.
      if (targetLayer === "entry" && layer !== "entry")
        problems.push(`${where}: only users import an entry point (${spec})`);
    } else if (layer === "core") {
      problems.push(`${where}: core/ is pure and must not import ${spec}`);
    } else if (
      (layer === "engine" || layer === "testing" || layer === "entry") &&
      !spec.startsWith("node:")
    ) {
      problems.push(
        `${where}: ${layer}/ talks to ports only and must not import the package ${spec}`,
      );
    }
  }
  if (layer === "core" && /\bDate\.now\(|\bprocess\.|\bsetTimeout\(|\bMath\.random\(/.test(text)) {
    problems.push(
      `${relative(root, file)}: core/ must not read the clock, the process or randomness`,
    );
  }
  graph.set(file, edges);
}

// Cycles: depth-first search with colours.
const colour = new Map();
const stack = [];
function visit(node) {
  colour.set(node, "grey");
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (colour.get(next) === "grey") {
      const cycle = stack
        .slice(stack.indexOf(next))
        .concat(next)
        .map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(" -> ")}`);
    } else if (!colour.has(next) && graph.has(next)) visit(next);
  }
  stack.pop();
  colour.set(node, "black");
}
for (const file of files) if (!colour.has(file)) visit(file);

if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`imports ok: ${files.length} files, layers respected, no cycles`);
