// GET /functions/v1/health: public liveness + version, answered 503 while the
// smoke_fail fault is on.
import { json } from "../_shared/http.ts";
import type { FunctionHandler } from "../_shared/types.ts";

export const handler: FunctionHandler = (_req, ctx) => {
  if (ctx.faults.smokeFail) {
    return json(503, { status: "fail", version: ctx.version, reason: "smoke_fail fault is on" });
  }
  return json(200, { status: "ok", version: ctx.version });
};
