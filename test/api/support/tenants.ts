import { randomBytes } from "node:crypto";
import type { Service } from "../../../src/service.js";

export type Role = "viewer" | "operator" | "admin";
export const ROLES: readonly Role[] = ["viewer", "operator", "admin"];
export const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** A tenant of a cross-tenant test: its keys by role and a marker that only its data contains. */
export interface TestTenant {
  id: string;
  keys: Record<Role, string>;
  /** Appears in this tenant's saga inputs, event types and data, definition names, stream ids. */
  marker: string;
}

export function testTenant(label: string): TestTenant {
  const hex = randomBytes(5).toString("hex");
  const key = (role: Role) => `${label}-${role}-${randomBytes(12).toString("hex")}`;
  return {
    id: `${label}_${hex}`,
    keys: { viewer: key("viewer"), operator: key("operator"), admin: key("admin") },
    marker: `mk${label}${hex}`,
  };
}

/** `API_KEYS` for these tenants, one key per role each. */
export function apiKeysOf(...tenants: TestTenant[]): string {
  return tenants.flatMap((t) => ROLES.map((role) => `${t.keys[role]}=${t.id}:${role}`)).join(",");
}

/** The objects a tenant owns, made through the engine and the event store (setup, not under test). */
export interface TenantData {
  sagaIds: string[];
  /** A stream name that only this tenant has. */
  ownStream: string;
  /** A stream name both tenants have (each its own events). */
  sharedStream: string;
  definitionName: string;
}

export const SHARED_STREAM = "shared-stream";

export async function seedTenant(service: Service, t: TestTenant): Promise<TenantData> {
  const o = service.orchestrator;
  const completed = await o.start(
    "demo_order",
    { order_id: t.marker, step_ms: 0 },
    { tenantId: t.id },
  );
  await completed.result();
  const store = service.events.events;
  if (!store) throw new Error("setup: the service has no event store");
  const ownStream = `only-${t.id}`;
  for (const stream of [ownStream, SHARED_STREAM]) {
    await store.append(t.id, stream, [
      { type: `${t.marker}.happened`, data: { marker: t.marker }, metadata: { m: t.marker } },
    ]);
  }
  return {
    sagaIds: [completed.sagaId],
    ownStream,
    sharedStream: SHARED_STREAM,
    definitionName: `def_${t.marker}`,
  };
}

/** A definition document of this tenant (its name and event type carry the marker). */
export function definitionOf(t: TestTenant, name = `def_${t.marker}`, version = 1) {
  return {
    name,
    version,
    steps: [
      { name: "announce", kind: "publish", event: { type: `${t.marker}.defined`, data: {} } },
    ],
  };
}

/** A demo_order saga of the tenant in the given state (a fresh one each call). */
export async function sagaOf(
  service: Service,
  t: TestTenant,
  kind: "completed" | "running" | "failed",
): Promise<string> {
  const o = service.orchestrator;
  if (kind === "failed") {
    const h = await o.start("stuck_order", { order_id: t.marker }, { tenantId: t.id });
    await h.result();
    return h.sagaId;
  }
  const h = await o.start(
    "demo_order",
    { order_id: t.marker, step_ms: kind === "running" ? 10_000 : 0 },
    { tenantId: t.id },
  );
  if (kind === "completed") await h.result();
  return h.sagaId;
}
