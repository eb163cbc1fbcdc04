import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 60_000,
    // Set-up hooks open PGlite and PostgreSQL stores and spawn processes: on a 2-core machine under
    // load (CI beside other work) that has taken over 60 s, with no bug involved.
    hookTimeout: 180_000,
    // 2 cores: files run two at a time; multi-process tests spawn their own workers.
    maxWorkers: 2,
    pool: "forks",
  },
});
