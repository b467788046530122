// Mints an HS256 JWT signed with JWT_SECRET, for smoke tests and curl:
//   JWT_SECRET=... deno run --allow-env supabase/functions/mint_jwt.ts [sub] [ttl_seconds] [role]
// Prints the token on stdout. Defaults: sub "smoke-test", ttl 300 s, role "authenticated".
import { signHs256 } from "./_shared/jwt.ts";

if (import.meta.main) {
  const secret = Deno.env.get("JWT_SECRET");
  if (!secret) {
    console.error("mint_jwt.ts: JWT_SECRET is not set");
    Deno.exit(2);
  }
  const [sub = "smoke-test", ttlText = "300", role = "authenticated"] = Deno.args;
  const ttl = Number(ttlText);
  if (!Number.isFinite(ttl)) {
    console.error(`mint_jwt.ts: ttl_seconds must be a number, got '${ttlText}'`);
    Deno.exit(2);
  }
  const now = Math.floor(Date.now() / 1000);
  console.log(await signHs256({ sub, role, iat: now, exp: now + ttl }, secret));
}
