import { assertPostgresAnswers } from "./services.js";

export default async function setup(): Promise<void> {
  await assertPostgresAnswers();
}
