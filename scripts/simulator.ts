// Runs the downstream-service simulator (user, permission, notification, Airtable connector) as a
// process, for smoke tests of a deployment: point the service's *_SERVICE_URL variables at it.
//   npx tsx scripts/simulator.ts [--port 9900] [--host 127.0.0.1] [--airtable-token TOKEN]
// Prints the variables to set, then serves until SIGTERM/SIGINT.
import { parseArgs } from "node:util";
import { startDownstreamSimulator } from "../src/testing/downstream-simulator.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9900" },
    "airtable-token": { type: "string" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write("simulator: --port must be a port number\n");
  process.exit(2);
}
const sim = await startDownstreamSimulator({
  port,
  ...(values["airtable-token"] ? { airtableToken: values["airtable-token"] } : {}),
});
process.stdout.write(
  [
    `simulator listening on ${sim.url} (ledger: ${sim.url}/_control/ledger)`,
    `USER_SERVICE_URL=${sim.urls.user}`,
    `PERMISSION_SERVICE_URL=${sim.urls.permission}`,
    `NOTIFICATION_SERVICE_URL=${sim.urls.notification}`,
    `AIRTABLE_CONNECTOR_URL=${sim.urls.airtable}`,
    "",
  ].join("\n"),
);
const stop = () => void sim.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
