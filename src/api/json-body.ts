import type { FastifyInstance } from "fastify";
import { ErrorCodes, jsonProblemCode } from "../core/errors.js";
import { parseJson, type Json } from "../core/json.js";
import { HttpError } from "./http-errors.js";

/**
 * Parses JSON request bodies within bounds, before any route, schema or hook walks them:
 * nesting deeper than 64 levels, NUL characters and lone surrogates, numbers out of range
 * (`1e400`) answer 400 with the bound's code; `__proto__` keys and `constructor.prototype`
 * (prototype poisoning) answer 400 SAGA_JSON_FORBIDDEN_KEY. Size is bounded by `bodyLimit`
 * (413) before this parser runs.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === "") {
      done(
        new HttpError(400, ErrorCodes.BAD_REQUEST, "the body is empty; send a JSON document"),
        undefined,
      );
      return;
    }
    const checked = parseJson(text);
    if (!checked.ok) {
      const code = jsonProblemCode(checked.kind, ErrorCodes.INVALID_JSON);
      const where = checked.path === "$" ? "" : ` at ${clip(checked.path)}`;
      done(new HttpError(400, code, `invalid JSON body${where}: ${checked.problem}`), undefined);
      return;
    }
    const forbidden = forbiddenKey(checked.value, "$");
    if (forbidden !== null) {
      done(
        new HttpError(
          400,
          ErrorCodes.SAGA_JSON_FORBIDDEN_KEY,
          `invalid JSON body: the key at ${clip(forbidden)} is not allowed (prototype keys are refused)`,
        ),
        undefined,
      );
      return;
    }
    done(null, checked.value);
  });
}

/** The path of a `__proto__` key or a `constructor` object with `prototype`, or null. */
function forbiddenKey(value: Json, path: string): string | null {
  // Depth is at most 64 here (parseJson checked it): this recursion is bounded.
  if (value === null || typeof value !== "object") return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = forbiddenKey(value[i]!, `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const item = value[key]!;
    if (key === "__proto__") return `${path}.__proto__`;
    if (
      key === "constructor" &&
      item !== null &&
      typeof item === "object" &&
      Object.prototype.hasOwnProperty.call(item, "prototype")
    )
      return `${path}.constructor.prototype`;
    const found = forbiddenKey(item, `${path}.${key}`);
    if (found !== null) return found;
  }
  return null;
}

function clip(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
