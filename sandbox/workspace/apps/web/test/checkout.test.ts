import { describe, expect, it } from "vitest";
import { paymentReference, submitPayment, validateCheckout } from "../src/checkout";
import { jsonResponse } from "./fixtures";

describe("validateCheckout", () => {
  it("accepts a name and a table number", () => {
    expect(validateCheckout({ name: "Ana", table: " 12 " })).toEqual({});
  });

  it("names each problem", () => {
    expect(validateCheckout({ name: " ", table: "A1" })).toEqual({
      name: "Enter the name for the order.",
      table: "Enter your table number (1 to 3 digits).",
    });
    expect(validateCheckout({ name: "x".repeat(61), table: "1" }).name).toContain("under 60");
  });
});

describe("paymentReference", () => {
  it("keeps letters and digits only, and stays short", () => {
    expect(paymentReference({ name: "Zoë <b>", table: "7" })).toBe("table-7 Zoë b");
    expect(paymentReference({ name: "n".repeat(80), table: "7" })).toHaveLength("table-7 ".length + 40);
  });
});

describe("submitPayment", () => {
  const request = { tenant: "demo-cafe", amount_cents: 1084, currency: "EUR", reference: "table-7 Ana" };

  it("posts JSON to <agents>/payments and returns the payment id", async () => {
    const seen: Array<[string, RequestInit | undefined]> = [];
    const result = await submitPayment(
      async (url, init) => {
        seen.push([url, init]);
        return jsonResponse({ status: "succeeded", payment_id: "pay_1" }, 201);
      },
      "http://127.0.0.1:8787/",
      request,
    );
    expect(result).toEqual({ ok: true, paymentId: "pay_1" });
    expect(seen[0]?.[0]).toBe("http://127.0.0.1:8787/payments");
    expect(seen[0]?.[1]?.method).toBe("POST");
    expect(JSON.parse(String(seen[0]?.[1]?.body))).toEqual(request);
  });

  it.each([
    [() => jsonResponse({ status: "failed" }, 402), "declined"],
    [() => jsonResponse({ error: "internal_error" }, 500), "HTTP 500"],
    [() => new Response("<html>", { status: 502 }), "HTTP 502"],
    [() => jsonResponse({ status: "succeeded" }, 201), "HTTP 201"],
  ])("reports a failed payment (%#)", async (respond, message) => {
    const result = await submitPayment(async () => respond(), "http://agents", request);
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.message).toContain(message);
  });

  it("reports an unreachable service", async () => {
    const result = await submitPayment(async () => Promise.reject(new TypeError("fetch failed")), "http://agents", request);
    expect(result).toEqual({ ok: false, message: expect.stringContaining("cannot be reached") });
  });
});
