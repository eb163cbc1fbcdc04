// The API's types, from the server's own schemas (type-only: nothing here runs in the browser).
import type { Static } from "@sinclair/typebox";
import type {
  EventSchema,
  SagaPageSchema,
  SagaSchema,
  SagaTypeSchema,
  StepSchema,
} from "../../src/api/schemas.js";
import type {
  AllPageSchema,
  EventTypesSchema,
  StreamPageSchema,
} from "../../src/api/event-schemas.js";
import type { FaultDirective, SagaEvent } from "../../src/core/events.js";

export type { FaultDirective };
import type { overviewOf } from "../../src/api/routes/console-overview.js";

/** The API's own types (the server's TypeBox schemas), so the console and the server agree. */
export type Saga = Static<typeof SagaSchema>;
export type SagaPage = Omit<Static<typeof SagaPageSchema>, "items"> & { items: Saga[] };
export type Step = Static<typeof StepSchema>;
export type ApiEvent = Static<typeof EventSchema>;
export type SagaType = Static<typeof SagaTypeSchema>;
export type EventTypes = Static<typeof EventTypesSchema>;
export type StoredEvent = Static<typeof AllPageSchema>["events"][number];
export type AllPage = Static<typeof AllPageSchema>;
export type StreamPage = Static<typeof StreamPageSchema>;
export type Overview = ReturnType<typeof overviewOf>;
export type SagaStatus = Saga["status"];
export type EventOf<T extends SagaEvent["type"]> = Extract<SagaEvent, { type: T }>;
export type Role = "viewer" | "operator" | "admin";

export interface Session {
  tenant_id: string;
  role: Role;
  via: string;
  subject: string;
}
export interface Summary {
  counts: { status: SagaStatus; count: number; capped: boolean }[];
  cap: number;
}
export interface Problem {
  path: string;
  message: string;
}
export interface DefinitionView {
  name: string;
  version: number;
  scope: "built-in" | "tenant";
  document: unknown;
}
