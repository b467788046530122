import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { CANARY_ROUTES, breachRules, createMetrics, initialiseTenant } from "../src/metrics.js";
import { sample, testConfig } from "./helpers.js";

describe("createMetrics", () => {
  it("starts the canary routes' request and latency series at 0", async () => {
    const text = await createMetrics().registry.metrics();
    expect(sample(text, "http_requests_total", { route: "/agents/chat", method: "POST", status: "500" })).toBe(0);
    expect(sample(text, "http_requests_total", { route: "/agents/chat", method: "POST", status: "200" })).toBe(0);
    expect(sample(text, "http_requests_total", { route: "/payments", method: "POST", status: "500" })).toBe(0);
    expect(sample(text, "http_requests_total", { route: "/payments", method: "POST", status: "402" })).toBe(0);
    expect(sample(text, "http_request_duration_seconds_count", { route: "/agents/chat" })).toBe(0);
    expect(sample(text, "http_request_duration_seconds_bucket", { route: "/payments", le: "0.35" })).toBe(0);
  });

  it("names only routes the app serves", () => {
    const { app } = buildApp({ config: testConfig() });
    for (const { route, method } of CANARY_ROUTES) {
      expect(app.hasRoute({ url: route, method: method as "POST" })).toBe(true);
    }
  });

  it("counts the first 500 of a route on top of the 0 it started at", async () => {
    const metrics = createMetrics();
    metrics.httpRequests.inc({ route: "/agents/chat", method: "POST", status: "500" });
    const text = await metrics.registry.metrics();
    expect(sample(text, "http_requests_total", { route: "/agents/chat", method: "POST", status: "500" })).toBe(1);
  });

  it("starts the named tenants' interactions, breaches and payments at 0", async () => {
    const metrics = createMetrics({ tenants: ["icupa-hq"] });
    const text = await metrics.registry.metrics();
    expect(sample(text, "agent_interactions_total", { tenant: "icupa-hq" })).toBe(0);
    for (const rule of breachRules()) {
      expect(sample(text, "agent_guardrail_breaches_total", { tenant: "icupa-hq", rule })).toBe(0);
    }
    expect(breachRules()).toContain("injected_fault");
    expect(sample(text, "payments_total", { tenant: "icupa-hq", outcome: "success" })).toBe(0);
    expect(sample(text, "payments_total", { tenant: "icupa-hq", outcome: "failure" })).toBe(0);
    expect(sample(text, "payments_total", { tenant: "icupa-qa" })).toBeUndefined();
  });

  it("leaves a tenant's existing counts alone when it is initialised again", async () => {
    const metrics = createMetrics();
    metrics.payments.inc({ tenant: "pilot", outcome: "failure" }, 3);
    initialiseTenant(metrics, "pilot");
    const text = await metrics.registry.metrics();
    expect(sample(text, "payments_total", { tenant: "pilot", outcome: "failure" })).toBe(3);
    expect(sample(text, "payments_total", { tenant: "pilot", outcome: "success" })).toBe(0);
  });
});
