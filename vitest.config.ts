import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2 cores: files run two at a time; multi-process tests spawn their own workers.
    maxWorkers: 2,
    pool: "forks",
  },
});
