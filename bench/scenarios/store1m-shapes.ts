import { STORE1M_DAYS } from "./store1m-data.js";

/** One kind of GET /sagas request of store-1m. */
export interface Shape {
  name: string;
  tenant: "default" | "small";
  /** The query string of request number i (some shapes vary a value per request). */
  query: (i: number) => string;
  /** Page 2: the cursor of page 1 of this query is added (fetched once before measuring). */
  page2?: boolean;
}

const SAGAS_PER_DAY = (n: number) => n / STORE1M_DAYS;
/** A saga number of tenant `default` (not a multiple of 200), spread by i. */
const defaultSaga = (i: number, sagas: number) => {
  const s = 1 + ((i * 7919 + 13) % sagas);
  return s % 200 === 0 ? s + 1 : s;
};
const day = (now: number, daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();

/**
 * The query shapes: what the list API offers (status, saga_type, attributes, created and updated
 * ranges, cursor, tenant), alone and combined, common and rare. `now` is when the data was made.
 */
export function store1mShapes(sagas: number, now: number): Shape[] {
  const perDay = SAGAS_PER_DAY(sagas);
  const range = (i: number, field: "created" | "updated") => {
    const from = 1 + (i % (STORE1M_DAYS - 2));
    return `${field}_after=${day(now, from + 1)}&${field}_before=${day(now, from)}`;
  };
  return [
    { name: "newest (no filter)", tenant: "default", query: () => "" },
    { name: "status=completed (90 %)", tenant: "default", query: () => "status=completed" },
    { name: "status=failed (4 %)", tenant: "default", query: () => "status=failed" },
    {
      name: "status=compensated,failed (10 %)",
      tenant: "default",
      query: () => "status=compensated,failed",
    },
    { name: "saga_type=refund (25 %)", tenant: "default", query: () => "saga_type=refund" },
    {
      name: "saga_type=gdpr_export (1.9 %)",
      tenant: "default",
      query: () => "saga_type=gdpr_export",
    },
    {
      name: "saga_type=legacy_import (0.1 %)",
      tenant: "default",
      query: () => "saga_type=legacy_import",
    },
    {
      name: "status=failed & saga_type=gdpr_export (0.08 %)",
      tenant: "default",
      query: () => "status=failed&saga_type=gdpr_export",
    },
    {
      name: "status=failed & saga_type=legacy_import (all 50)",
      tenant: "default",
      query: () => "status=failed&saga_type=legacy_import",
    },
    {
      name: "saga_type=checkout,legacy_import (40 %)",
      tenant: "default",
      query: () => "saga_type=checkout,legacy_import",
    },
    {
      name: "business key orderId (1 row)",
      tenant: "default",
      query: (i) => `orderId=o-${defaultSaga(i, sagas)}`,
    },
    {
      name: "attribute customerId (20 rows)",
      tenant: "default",
      query: (i) => `customerId=c-${defaultSaga(i, sagas) % 50_000}`,
    },
    { name: "attribute region=latam (10 %)", tenant: "default", query: () => "region=latam" },
    {
      name: `created range, 1 day (~${Math.round(perDay)})`,
      tenant: "default",
      query: (i) => range(i, "created"),
    },
    {
      name: "created range & status=failed",
      tenant: "default",
      query: (i) => `${range(i, "created")}&status=failed`,
    },
    {
      name: `updated range, 1 day (~${Math.round(perDay)})`,
      tenant: "default",
      query: (i) => range(i, "updated"),
    },
    { name: "page 2 (no filter)", tenant: "default", query: () => "", page2: true },
    {
      name: "page 2 status=failed",
      tenant: "default",
      query: () => "status=failed",
      page2: true,
    },
    {
      name: "page 2 status=failed & saga_type=gdpr_export",
      tenant: "default",
      query: () => "status=failed&saga_type=gdpr_export",
      page2: true,
    },
    { name: "small tenant (0.5 %), newest", tenant: "small", query: () => "" },
    { name: "small tenant, status=failed", tenant: "small", query: () => "status=failed" },
  ];
}

/**
 * The parameters LIST_SAGAS receives for a query string, as the route and
 * SqlSagaReads.listSagas build them (for EXPLAIN).
 */
export function listSagasParams(
  tenant: string,
  query: string,
): (string | number | string[] | null)[] {
  const q = new URLSearchParams(query);
  const known = new Set([
    "status",
    "saga_type",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "limit",
    "cursor",
  ]);
  const split = (v: string | null) => (v === null ? null : v.split(","));
  const time = (v: string | null) => (v === null ? null : new Date(v).toISOString());
  const attributes = Object.fromEntries([...q].filter(([k]) => !known.has(k)));
  const cursor = q.get("cursor");
  const [createdAt, id] = cursor
    ? Buffer.from(cursor, "base64url").toString("utf8").split("|")
    : [null, null];
  return [
    tenant,
    split(q.get("status")),
    split(q.get("saga_type")),
    time(q.get("created_after")),
    time(q.get("created_before")),
    JSON.stringify(attributes),
    createdAt,
    id,
    Number(q.get("limit") ?? 50) + 1,
    time(q.get("updated_after")),
    time(q.get("updated_before")),
  ];
}
