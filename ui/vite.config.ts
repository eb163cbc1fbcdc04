import { defineConfig } from "vite";

// Built by `npm ci` (the root's prepare script) into ui/dist; the service serves it at /ui/.
// `npm run dev -w ui` serves the sources with the API of a service on :8008 behind the same paths.
const api = "http://127.0.0.1:8008";
export default defineConfig({
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: false },
  server: {
    proxy: Object.fromEntries(
      ["/sagas", "/console", "/definitions", "/events", "/schemas"].map((p) => [p, api]),
    ),
  },
});
