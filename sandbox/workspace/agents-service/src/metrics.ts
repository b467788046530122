import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { GuardrailRule } from "./guardrail.js";

/** Buckets chosen so the runbook's 350 ms P95 threshold falls on a boundary. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2.5, 5];

export type PaymentOutcome = "success" | "failure";
export type BreachRule = GuardrailRule | "injected_fault";

/**
 * The label sets of the routes the canary watches (its error-rate and latency queries read
 * every route but /metrics and /health), created at 0 when the service starts. prom-client
 * creates a labelled series at its first increment, and Prometheus' increase() cannot count
 * a series' first sample as an increase: without these, the first 500 of each route of a
 * freshly deployed release would never reach the canary's error rate.
 */
export const CANARY_ROUTES: readonly { route: string; method: string; statuses: readonly string[] }[] = [
  { route: "/agents/chat", method: "POST", statuses: ["200", "500"] },
  { route: "/payments", method: "POST", statuses: ["201", "402", "500"] },
];

/** Every value of the breach counter's `rule` label (typed, so a new guardrail rule must be added). */
const BREACH_RULES: Record<BreachRule, true> = {
  message_length: true,
  prompt_injection: true,
  pii_card_number: true,
  pii_email: true,
  deny_list: true,
  injected_fault: true,
};
export const PAYMENT_OUTCOMES: readonly PaymentOutcome[] = ["success", "failure"];

export interface ServiceMetrics {
  registry: Registry;
  httpRequests: Counter<"route" | "method" | "status">;
  httpDuration: Histogram<"route">;
  agentInteractions: Counter<"tenant">;
  guardrailBreaches: Counter<"tenant" | "rule">;
  payments: Counter<"tenant" | "outcome">;
}

export interface MetricsOptions {
  /**
   * Tenants whose series (interactions, breaches by rule, payments by outcome) start at 0,
   * so that their first breach or failed payment counts too. Tenants are only known from
   * requests, so without this list a tenant's series appear at its first event.
   */
  tenants?: readonly string[];
}

/** The rule names of the breach counter, in a stable order. */
export function breachRules(): BreachRule[] {
  return Object.keys(BREACH_RULES) as BreachRule[];
}

/** Creates a tenant's canary series at 0; adding 0 leaves a series that already exists as it is. */
export function initialiseTenant(metrics: ServiceMetrics, tenant: string): void {
  metrics.agentInteractions.inc({ tenant }, 0);
  for (const rule of breachRules()) metrics.guardrailBreaches.inc({ tenant, rule }, 0);
  for (const outcome of PAYMENT_OUTCOMES) metrics.payments.inc({ tenant, outcome }, 0);
}

/** One registry per app instance, so tests and restarts never share series. */
export function createMetrics(options: MetricsOptions = {}): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics: ServiceMetrics = {
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
  for (const { route, method, statuses } of CANARY_ROUTES) {
    for (const status of statuses) metrics.httpRequests.inc({ route, method, status }, 0);
    metrics.httpDuration.zero({ route });
  }
  for (const tenant of options.tenants ?? []) initialiseTenant(metrics, tenant);
  return metrics;
}
