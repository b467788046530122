import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { TENANT_SLUG, type ServiceConfig } from "./config.js";
import { FaultSource, RateGate } from "./faults.js";
import { checkMessage } from "./guardrail.js";
import { createMetrics, type ServiceMetrics } from "./metrics.js";
import { replyTo } from "./replies.js";

export interface AppOptions {
  config: ServiceConfig;
  logger?: FastifyServerOptions["logger"];
}

export interface AgentsApp {
  app: FastifyInstance;
  metrics: ServiceMetrics;
}

export const SUPPORTED_CURRENCIES = ["EUR", "USD", "GBP", "RWF", "KES", "UGX", "TZS"] as const;

/** The largest single payment the sandbox accepts: 10,000.00 in the currency's minor unit. */
export const MAX_AMOUNT_CENTS = 1_000_000;

// Operational routes stay truthful under the error-rate fault: Prometheus must
// keep scraping, and /health has its own switch (smoke_fail).
const ERROR_FAULT_EXEMPT = new Set(["/metrics", "/health"]);
const QUIET_ROUTES = new Set(["/metrics", "/health"]);
const LATENCY_FAULT_EXEMPT = new Set(["/metrics"]);

interface ChatBody {
  tenant: string;
  message: string;
}

interface PaymentBody {
  tenant: string;
  amount_cents: number;
  currency: (typeof SUPPORTED_CURRENCIES)[number];
  reference?: string;
}

function routeLabel(url: string | undefined): string {
  return url ?? "unmatched";
}

export function buildApp(options: AppOptions): AgentsApp {
  const { config } = options;
  const metrics = createMetrics({ tenants: config.tenants });
  const errorGate = new RateGate();
  const breachGate = new RateGate();
  const paymentGate = new RateGate();

  const app = Fastify({
    logger: options.logger ?? false,
    // Probes and scrapes arrive every few seconds; logging them buries the rest.
    logController: new LogController({
      disableRequestLogging: (request) => QUIET_ROUTES.has(request.url),
    }),
    bodyLimit: 64 * 1024,
  });
  const faults = new FaultSource(config.faultsFile, config.version, app.log);

  app.addHook("onRequest", async (request, reply) => {
    reply.header("access-control-allow-origin", config.corsOrigin);
    const route = routeLabel(request.routeOptions.url);
    const active = faults.current();
    if (active.latencyMs > 0 && !LATENCY_FAULT_EXEMPT.has(route)) {
      await sleep(active.latencyMs);
    }
    if (!ERROR_FAULT_EXEMPT.has(route) && request.method !== "OPTIONS" && errorGate.fire(active.errorRate)) {
      return reply.code(500).send({ error: "internal_error", message: "injected fault: error_rate" });
    }
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = routeLabel(request.routeOptions.url);
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.options("/*", async (_request, reply) => {
    return reply
      .code(204)
      .header("access-control-allow-methods", "GET, POST, OPTIONS")
      .header("access-control-allow-headers", "content-type, authorization")
      .header("access-control-max-age", "600")
      .send();
  });

  app.get("/health", async (_request, reply) => {
    if (faults.current().smokeFail) {
      return reply.code(503).send({ status: "failing", version: config.version, reason: "injected fault: smoke_fail" });
    }
    return { status: "ok", version: config.version };
  });

  app.get("/version", async () => ({ version: config.version, commit: config.commit }));

  app.get("/metrics", async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header("content-type", metrics.registry.contentType).send(body);
  });

  app.post<{ Body: ChatBody }>(
    "/agents/chat",
    {
      schema: {
        body: {
          type: "object",
          required: ["tenant", "message"],
          properties: {
            tenant: { type: "string", pattern: TENANT_SLUG },
            message: { type: "string", minLength: 1, maxLength: 8000 },
          },
        },
      },
    },
    async (request) => {
      const { tenant, message } = request.body;
      metrics.agentInteractions.inc({ tenant });
      const verdict = checkMessage(message);
      if (!verdict.allowed) {
        metrics.guardrailBreaches.inc({ tenant, rule: verdict.rule });
        return {
          tenant,
          blocked: true,
          rule: verdict.rule,
          reply: "Sorry, I can't help with that. Please ask about the menu or your order.",
        };
      }
      if (breachGate.fire(faults.current().guardrailBreachRate)) {
        metrics.guardrailBreaches.inc({ tenant, rule: "injected_fault" });
        return {
          tenant,
          blocked: true,
          rule: "injected_fault",
          reply: "Sorry, I can't help with that. Please ask about the menu or your order.",
        };
      }
      const answer = replyTo(tenant, message);
      return { tenant, blocked: false, intent: answer.intent, reply: answer.reply };
    },
  );

  app.post<{ Body: PaymentBody }>(
    "/payments",
    {
      schema: {
        body: {
          type: "object",
          required: ["tenant", "amount_cents", "currency"],
          properties: {
            tenant: { type: "string", pattern: TENANT_SLUG },
            amount_cents: { type: "integer", minimum: 1, maximum: MAX_AMOUNT_CENTS },
            currency: { type: "string", enum: [...SUPPORTED_CURRENCIES] },
            reference: { type: "string", maxLength: 64 },
          },
        },
      },
    },
    async (request, reply) => {
      const { tenant, amount_cents, currency, reference } = request.body;
      if (paymentGate.fire(faults.current().paymentFailureRate)) {
        metrics.payments.inc({ tenant, outcome: "failure" });
        return reply.code(402).send({
          status: "failed",
          tenant,
          amount_cents,
          currency,
          reason: "declined_by_processor",
        });
      }
      metrics.payments.inc({ tenant, outcome: "success" });
      return reply.code(201).send({
        status: "succeeded",
        payment_id: `pay_${randomBytes(8).toString("hex")}`,
        tenant,
        amount_cents,
        currency,
        reference: reference ?? null,
      });
    },
  );

  return { app, metrics };
}
