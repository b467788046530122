import type { FetchLike } from "./menu";

export interface CheckoutForm {
  name: string;
  table: string;
}

export type CheckoutErrors = Partial<Record<keyof CheckoutForm, string>>;

export function validateCheckout(form: CheckoutForm): CheckoutErrors {
  const errors: CheckoutErrors = {};
  const name = form.name.trim();
  if (name === "") errors.name = "Enter the name for the order.";
  else if (name.length > 60) errors.name = "Keep the name under 60 characters.";
  if (!/^\d{1,3}$/.test(form.table.trim())) errors.table = "Enter your table number (1 to 3 digits).";
  return errors;
}

export interface PaymentRequest {
  tenant: string;
  amount_cents: number;
  currency: string;
  reference: string;
}

export type PaymentResult =
  | { ok: true; paymentId: string }
  | { ok: false; message: string };

/** Builds the short reference the agents service stores with the payment. */
export function paymentReference(form: CheckoutForm): string {
  const name = form.name.trim().replace(/[^\p{L}\p{N} -]/gu, "").slice(0, 40);
  return `table-${form.table.trim()} ${name}`.trim();
}

export async function submitPayment(fetchFn: FetchLike, agentsUrl: string, request: PaymentRequest): Promise<PaymentResult> {
  let response: Response;
  try {
    response = await fetchFn(`${agentsUrl.replace(/\/+$/, "")}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
  } catch {
    return { ok: false, message: "The payment service cannot be reached. Check your connection and try again." };
  }
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // A non-JSON answer is reported by status below.
  }
  if (response.status === 201 && typeof body.payment_id === "string") {
    return { ok: true, paymentId: body.payment_id };
  }
  if (response.status === 402) {
    return { ok: false, message: "The payment was declined. No money was taken; please try again." };
  }
  return { ok: false, message: `The payment failed (HTTP ${response.status}). Please try again or ask your server.` };
}
