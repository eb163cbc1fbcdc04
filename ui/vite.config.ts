import { defineConfig } from "vite";

// Built by `npm ci` (the root's prepare script) into ui/dist; the service serves it at /ui/.
export default defineConfig({
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: false },
});
