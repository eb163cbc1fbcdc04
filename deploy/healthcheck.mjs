// The image's HEALTHCHECK: liveness of `saga serve` (PORT) or `saga worker` (WORKER_PORT),
// whichever this container runs. Exit 0 = healthy. No shell or curl needed in the image.
const ports = [process.env.PORT ?? "8008", process.env.WORKER_PORT ?? "8009"];
const live = async (port) => {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`, {
      signal: AbortSignal.timeout(3_000),
    });
    return res.status === 200;
  } catch {
    return false;
  }
};
const results = await Promise.all(ports.map(live));
process.exit(results.some(Boolean) ? 0 : 1);
