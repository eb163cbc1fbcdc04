// The web console in a real browser (Debian's chromium via playwright-core) against a real
// `saga serve`: every page, the actions and who may see them, live updates, axe on each page,
// and screenshots at 1280 and 390 px (into docs/screenshots/ with SAVE_SCREENSHOTS=1).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../e2e/support/processes.js";
import {
  api,
  startService,
  stopService,
  type SagaJson,
  type ServiceProcess,
} from "../e2e/support/service.js";
import { waitUntil } from "../helpers/time.js";
import { axeViolations, describeViolations, launchBrowser } from "./support/browser.js";

const KEYS = {
  viewer: "ui-viewer-key-0123456789",
  operator: "ui-operator-key-0123456789",
  admin: "ui-admin-key-0123456789",
};
type Role = keyof typeof KEYS;
const SHOTS = process.env.SAVE_SCREENSHOTS
  ? join(ROOT, "docs", "screenshots")
  : mkdtempSync(join(tmpdir(), "saga-console-shots-"));

let service: ServiceProcess;
/** A second service with no credentials configured: the anonymous local-development case. */
let anonymous: ServiceProcess;
let anonymousDir: string;
let browser: { context: BrowserContext; close: () => Promise<void> };
let dataDir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "saga-console-e2e-"));
  anonymousDir = mkdtempSync(join(tmpdir(), "saga-console-anon-"));
  // Keys for tenant acme (with a key configured, credentials are required: auth fails closed).
  service = await startService(
    "console",
    {
      SAGA_DATA_DIR: dataDir,
      API_KEYS: Object.entries(KEYS)
        .map(([role, key]) => `${key}=acme:${role}`)
        .join(","),
    },
    // A generous bound: the machine running the suite may be busy (PGlite starts in a child).
    { timeoutMs: 300_000 },
  );
  // Nothing configured, on loopback: no key at all is the anonymous admin of tenant default.
  anonymous = await startService(
    "console-anonymous",
    { SAGA_DATA_DIR: anonymousDir },
    { timeoutMs: 300_000 },
  );
  browser = await launchBrowser();
}, 720_000);
afterAll(async () => {
  await browser?.close();
  await stopService(service);
  await stopService(anonymous);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(anonymousDir, { recursive: true, force: true });
  if (!process.env.SAVE_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
});

const as = (role: Role) => ({ headers: { "x-api-key": KEYS[role] } });

async function start(body: object): Promise<string> {
  const reply = await api<SagaJson>(service, "POST", "/sagas/start", { ...as("admin"), body });
  if (reply.status !== 201) throw new Error(`start answered ${reply.status}`);
  return reply.body.saga_id;
}
async function statusOf(id: string): Promise<string> {
  return (await api<SagaJson>(service, "GET", `/sagas/${id}`, as("viewer"))).body.status;
}
async function waitStatus(id: string, status: string): Promise<void> {
  await waitUntil(`saga ${id} ${status}`, async () => (await statusOf(id)) === status, {
    timeoutMs: 90_000,
    intervalMs: 200,
    retryErrors: true,
  });
}

/** A new tab (its own sessionStorage), signed in with `role`'s key, or anonymous. */
async function openAs(role: Role | "anonymous"): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${role}: ${e.message}`));
  if (role === "anonymous") {
    await page.goto(`${anonymous.url}/`);
  } else {
    await page.goto(`${service.url}/ui/signin`);
    await page.locator("#credential").fill(KEYS[role]);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="tenant"]', { hasText: "acme" }).waitFor();
  }
  await page.locator('[data-testid="role"]').waitFor();
  return page;
}
/** Another page of the console on the service the tab is on. */
const go = (page: Page, path: string) => page.goto(new URL(`/ui${path}`, page.url()).href);
const badge = (page: Page, status: string) =>
  page.locator("h1 .badge", { hasText: new RegExp(`^${status}$`) });

async function checkAxe(page: Page, what: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(violations, `${what}:\n${describeViolations(violations)}`).toEqual([]);
}
async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width > 500 ? 900 : 844 });
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe("web console in chromium", () => {
  it("a newcomer (anonymous local dev) sees a saga complete and one compensate, live", async () => {
    const page = await openAs("anonymous");
    expect(await page.locator('[data-testid="tenant"]').textContent()).toBe("default");
    expect(await page.locator('[data-testid="role"]').textContent()).toBe("admin");
    await page.getByRole("button", { name: "Start an order that completes" }).click();
    await page.waitForURL(/\/ui\/sagas\/[0-9a-f-]{36}$/);
    await badge(page, "running").waitFor();
    await page.locator('[data-testid="stream-state"]', { hasText: "live" }).waitFor();
    await badge(page, "completed").waitFor({ timeout: 90_000 });
    expect(await page.locator(".g-row.forward").count()).toBe(3);
    await go(page, "/sagas");
    await page.getByRole("button", { name: "Start an order that compensates" }).click();
    await page.waitForURL(/\/ui\/sagas\/[0-9a-f-]{36}$/);
    await badge(page, "compensated").waitFor({ timeout: 90_000 });
    const order = await page.locator('[data-testid="compensation-order"]').textContent();
    expect(order).toContain("compensated in reverse: charge_payment → reserve_inventory");
    const rows = await page.locator(".g-row .g-label").allTextContents();
    expect(rows.slice(3)).toEqual(["#1undo charge_payment", "#2undo reserve_inventory"]);
    await page.close();
  }, 300_000);

  it("sign-in keeps the key for the tab, shows the tenant, refuses a wrong key", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${service.url}/ui/signin`);
    await page.locator("#credential").fill("not-a-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("p.error", { hasText: "INVALID_API_KEY" }).waitFor();
    await checkAxe(page, "sign-in");
    await screenshots(page, "signin");
    await page.locator("#credential").fill(KEYS.viewer);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-testid="tenant"]', { hasText: "acme" }).waitFor();
    expect(
      await page.evaluate(() =>
        Object.keys((globalThis as unknown as { sessionStorage: object }).sessionStorage),
      ),
    ).toEqual(["saga-console.credentials"]);
    expect(
      await page.evaluate(() =>
        Object.keys((globalThis as unknown as { localStorage: object }).localStorage),
      ),
    ).toEqual([]);
    await page.close();
  }, 300_000);

  it("lists sagas with counts, filters and live updates; hides actions a viewer may not use", async () => {
    const done = await start({ saga_type: "demo_order", input: { order_id: "ui-1", step_ms: 0 } });
    const undone = await start({
      saga_type: "demo_order",
      input: { order_id: "ui-2", step_ms: 0, fail_at: "ship_order" },
    });
    // Failed for good: the compensation of reserve_inventory fails (a rehearsed fault).
    const failed = await start({
      saga_type: "demo_order",
      input: { order_id: "ui-3", step_ms: 0, fail_at: "ship_order" },
      fault: { step: "reserve_inventory", phase: "compensation" },
    });
    await waitStatus(done, "completed");
    await waitStatus(undone, "compensated");
    await waitStatus(failed, "failed");

    const page = await openAs("viewer");
    await go(page, "/sagas");
    await page.locator("table.sagas tbody tr").first().waitFor();
    await page.locator('[data-testid="count-failed"] .n', { hasText: /^1$/ }).waitFor();
    expect(await page.locator("header nav a", { hasText: "Start" }).count()).toBe(0);
    expect(await page.locator('[data-testid="demo"]').count()).toBe(0);
    await checkAxe(page, "sagas list");

    // Filters: a status, a business key, needs attention.
    await page.locator('[data-testid="count-compensated"]').click();
    await page.waitForURL(/status=compensated/);
    await page.locator("table.sagas tbody tr[data-status=compensated]").first().waitFor();
    await expect
      .poll(() => page.locator("table.sagas tbody tr:not([data-status=compensated])").count(), {
        timeout: 30_000,
      })
      .toBe(0);
    await go(page, "/sagas?attrs=orderId%3Dui-1");
    await page.locator("table.sagas tbody tr td.attrs", { hasText: "orderId=ui-1" }).waitFor();
    await expect.poll(() => page.locator("table.sagas tbody tr").count()).toBe(1);
    await go(page, "/sagas");
    await page.getByRole("button", { name: /needs attention/ }).click();
    await page.locator("table.sagas tbody tr[data-status=failed]").first().waitFor();
    await expect.poll(() => page.locator("table.sagas tbody tr").count()).toBe(1);

    // Live: a saga started elsewhere appears without a reload.
    await go(page, "/sagas");
    await page.locator("table.sagas tbody tr").first().waitFor();
    const fresh = await start({
      saga_type: "demo_order",
      input: { order_id: "ui-live", step_ms: 0 },
    });
    await page.locator(`a[href="/ui/sagas/${fresh}"]`).waitFor({ timeout: 30_000 });

    // A viewer sees the failed saga's error but no Retry.
    await go(page, `/sagas/${failed}`);
    await badge(page, "failed").waitFor();
    await page.locator(".error-box", { hasText: "SAGA_FAULT_INJECTED" }).waitFor();
    expect(await page.getByRole("button", { name: "Retry…" }).count()).toBe(0);
    await go(page, "/definitions");
    await page.locator("svg.diagram").waitFor();
    expect(await page.getByRole("button", { name: "Register" }).count()).toBe(0);
    await page.close();
  }, 300_000);

  it("operators cancel and retry with a confirmation; no fault injection for them", async () => {
    const running = await start({
      saga_type: "demo_order",
      input: { order_id: "ui-4", step_ms: 10_000 },
    });
    const failed = await start({
      saga_type: "demo_order",
      input: { order_id: "ui-5", step_ms: 0, fail_at: "ship_order" },
      fault: { step: "reserve_inventory", phase: "compensation" },
    });
    await waitStatus(failed, "failed");

    const viewer = await openAs("viewer");
    await go(viewer, `/sagas/${running}`);
    await badge(viewer, "running").waitFor();
    expect(await viewer.getByRole("button", { name: "Cancel saga…" }).count()).toBe(0);
    await viewer.close();

    const page = await openAs("operator");
    await go(page, `/sagas/${running}`);
    await badge(page, "running").waitFor();
    await page.getByRole("button", { name: "Cancel saga…" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("compensated in reverse order");
    await checkAxe(page, "cancel confirmation");
    await dialog.getByRole("button", { name: "Cancel and compensate" }).click();
    await badge(page, "compensated").waitFor({ timeout: 90_000 });
    await page.locator(".facts dd", { hasText: "cancelled" }).waitFor();
    expect(
      (await api<SagaJson>(service, "GET", `/sagas/${running}`, as("viewer"))).body.reason,
    ).toBe("cancelled");

    await go(page, `/sagas/${failed}`);
    await badge(page, "failed").waitFor();
    await page.getByRole("button", { name: "Retry…" }).click();
    await page
      .locator("dialog[open]", { hasText: "compensation that failed runs again" })
      .waitFor();
    await page.locator("dialog[open]").getByRole("button", { name: "Retry" }).click();
    await badge(page, "compensated").waitFor({ timeout: 90_000 });
    // The timeline shows the failed undo attempt, then the one that worked.
    const undo = page.locator('.g-row[data-row="compensation:reserve_inventory"] .bar');
    await undo.and(page.locator(".o-ok")).waitFor();
    expect(await undo.count()).toBe(2);
    expect(await undo.first().getAttribute("class")).toContain("o-failed");

    await go(page, "/start");
    await page.locator("#type").waitFor();
    expect(await page.locator('[data-testid="rehearse"]').count()).toBe(0);
    await go(page, "/definitions");
    await page.locator("svg.diagram").waitFor();
    expect(await page.getByRole("button", { name: "Register" }).count()).toBe(0);
    await page.close();
  }, 300_000);

  it("admins rehearse a failure: a fault at a chosen step, recorded, compensation watched", async () => {
    const page = await openAs("admin");
    await go(page, "/start?type=demo_order");
    await page.locator('[data-testid="rehearse"] input[type=checkbox]').first().check();
    await page.locator('select[name="fault-step"]').selectOption("ship_order");
    await checkAxe(page, "start / rehearse");
    await screenshots(page, "rehearse");
    await page.getByRole("button", { name: "Start the rehearsal" }).click();
    await page.waitForURL(/\/ui\/sagas\/[0-9a-f-]{36}$/);
    await page.locator('[data-testid="rehearsal"]', { hasText: "ship_order" }).waitFor();
    await badge(page, "compensated").waitFor({ timeout: 90_000 });
    await page
      .locator('[data-testid="compensation-order"]', {
        hasText: "compensated in reverse: charge_payment → reserve_inventory",
      })
      .waitFor();
    const failedBar = page.locator('.g-row[data-row="forward:ship_order"] .bar.o-failed');
    expect(await failedBar.getAttribute("aria-label")).toContain("SAGA_FAULT_INJECTED");
    await screenshots(page, "saga");
    await page.locator("details summary", { hasText: "Event history" }).click();
    await page.locator("table.events td", { hasText: "SagaStarted" }).waitFor();
    await checkAxe(page, "saga page");
    await go(page, "/sagas");
    await page.locator("table.sagas tbody tr").nth(3).waitFor();
    await screenshots(page, "sagas");
    await page.close();
  }, 300_000);

  it("definitions: diagram, validation errors at their path, register (admin)", async () => {
    const page = await openAs("admin");
    await go(page, "/definitions?name=demo_order");
    await page.locator("svg.diagram .d-undo").first().waitFor();
    expect(await page.locator("svg.diagram .d-step").count()).toBe(3);
    expect(await page.locator("svg.diagram .d-undo").count()).toBe(3);
    const text = page.locator("#definition-text");
    await text.fill(
      "name: ui_nap\nversion: 1\nsteps:\n  - name: nap\n    kind: sleep\n    seconds: -1\n",
    );
    await page.getByRole("button", { name: "Validate" }).click();
    await page
      .locator('[data-testid="problems"] code', { hasText: "$.steps[0].seconds" })
      .waitFor();
    await checkAxe(page, "definitions with problems");
    await text.fill(
      "name: ui_nap\nversion: 1\nsteps:\n  - name: nap\n    kind: sleep\n    seconds: 1\n  - name: notify\n    kind: publish\n    event: { type: nap.done }\n",
    );
    await page.getByRole("button", { name: "Validate" }).click();
    await page.locator('[data-testid="valid"]').waitFor();
    await page.getByRole("button", { name: "Register" }).click();
    await page.locator("p.ok", { hasText: "ui_nap v1 registered" }).waitFor();
    await page.locator(".catalog button", { hasText: "ui_nap" }).waitFor();
    await go(page, "/definitions?name=user_onboarding");
    await page.locator("svg.diagram .d-undo").first().waitFor();
    await screenshots(page, "definitions");
    await page.close();
  }, 300_000);

  it("events: types, a stream, replay only for operators; overview from the service's data", async () => {
    const published = await api(service, "POST", "/events/publish", {
      ...as("operator"),
      body: { stream_id: "order-ui-1", type: "order.placed", data: { order_id: "ui-1" } },
    });
    expect(published.status).toBe(201);
    const viewer = await openAs("viewer");
    await go(viewer, "/events");
    await viewer.getByRole("button", { name: "order.placed" }).waitFor();
    await checkAxe(viewer, "events");
    await viewer.getByRole("button", { name: "order-ui-1" }).first().click();
    await viewer.locator("h1", { hasText: "Stream order-ui-1" }).waitFor();
    await viewer.locator("table.events td", { hasText: "order.placed" }).waitFor();
    expect(await viewer.getByRole("button", { name: "Replay to the bus…" }).count()).toBe(0);
    await checkAxe(viewer, "event stream");
    await viewer.close();

    const page = await openAs("operator");
    await go(page, "/events?stream=order-ui-1");
    await page.getByRole("button", { name: "Replay to the bus…" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Replay" }).click();
    await page.locator("p.ok", { hasText: "replayed" }).waitFor();
    await go(page, "/events");
    await page.getByRole("button", { name: "order.placed" }).waitFor();
    await screenshots(page, "events");

    const all = await api<{ items: unknown[] }>(service, "GET", "/sagas/?limit=1000", as("viewer"));
    await go(page, "/overview");
    await page.locator('[data-testid="ov-started"]').waitFor();
    expect(Number(await page.locator('[data-testid="ov-started"]').textContent())).toBe(
      all.body.items.length,
    );
    await page.locator("svg.chart rect.c-compensated").first().waitFor({ state: "attached" });
    await checkAxe(page, "overview");
    await screenshots(page, "overview");
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
