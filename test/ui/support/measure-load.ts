// First load of the console (not a test: `npx tsx test/ui/support/measure-load.ts URL`): a fresh
// chromium profile each time, so nothing is cached; prints the browser's navigation timings.
import { launchBrowser } from "./browser.js";

const url = process.argv[2] ?? "http://127.0.0.1:8008/ui/";
for (let i = 0; i < 3; i++) {
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const t = performance.now();
    await page.goto(url);
    await page.locator("table.sagas, h1").first().waitFor();
    const shown = performance.now() - t;
    const nav = await page.evaluate(() => {
      type Timing = { domContentLoadedEventEnd: number; loadEventEnd: number };
      const perf = (
        globalThis as unknown as { performance: { getEntriesByType(t: string): Timing[] } }
      ).performance;
      const [n] = perf.getEntriesByType("navigation");
      return n ? { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd } : null;
    });
    console.log(
      `run ${i + 1}: DOMContentLoaded ${nav?.dcl.toFixed(0)} ms, load ${nav?.load.toFixed(0)} ms, page rendered ${shown.toFixed(0)} ms`,
    );
  } finally {
    await browser.close();
  }
}
