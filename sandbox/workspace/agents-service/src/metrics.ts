import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Buckets chosen so the runbook's 350 ms P95 threshold falls on a boundary. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2.5, 5];

export type PaymentOutcome = "success" | "failure";

export interface ServiceMetrics {
  registry: Registry;
  httpRequests: Counter<"route" | "method" | "status">;
  httpDuration: Histogram<"route">;
  agentInteractions: Counter<"tenant">;
  guardrailBreaches: Counter<"tenant" | "rule">;
  payments: Counter<"tenant" | "outcome">;
}

/** One registry per app instance, so tests and restarts never share series. */
export function createMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by route template, method and status code.",
      labelNames: ["route", "method", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "Time from receiving a request to sending its response, by route template.",
      labelNames: ["route"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    agentInteractions: new Counter({
      name: "agent_interactions_total",
      help: "Chat messages handled by the agent, blocked ones included.",
      labelNames: ["tenant"],
      registers: [registry],
    }),
    guardrailBreaches: new Counter({
      name: "agent_guardrail_breaches_total",
      help: "Chat messages stopped by the AI guardrail, by the rule that fired.",
      labelNames: ["tenant", "rule"],
      registers: [registry],
    }),
    payments: new Counter({
      name: "payments_total",
      help: "Payment attempts that passed validation, by outcome (success or failure).",
      labelNames: ["tenant", "outcome"],
      registers: [registry],
    }),
  };
}
