import { base64UrlDecode, base64UrlEncode, bearerToken, signHs256, verifyHs256 } from "../_shared/jwt.ts";
import { assert, assertEquals } from "./assert.ts";

const SECRET = "test-secret-with-enough-entropy-0123456789";
const NOW = 1_800_000_000;
const enc = (obj: unknown) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(obj)));

async function hmac(data: string, secret: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return base64UrlEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data))));
}

Deno.test("a token signed with the secret verifies and yields its claims", async () => {
  const token = await signHs256({ sub: "u1", role: "authenticated", exp: NOW + 60 }, SECRET);
  const result = await verifyHs256(token, SECRET, NOW);
  assert(result.ok, JSON.stringify(result));
  assertEquals(result.payload.sub, "u1");
});

Deno.test("a known HS256 vector (jwt.io example) verifies", async () => {
  const token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ." +
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  const result = await verifyHs256(token, "your-256-bit-secret", NOW);
  assert(result.ok, JSON.stringify(result));
  assertEquals(result.payload.name, "John Doe");
});

Deno.test("a wrong secret is refused", async () => {
  const token = await signHs256({ sub: "u1" }, SECRET);
  assertEquals(await verifyHs256(token, "another-secret", NOW), { ok: false, reason: "bad signature" });
});

Deno.test("a tampered payload is refused", async () => {
  const token = await signHs256({ sub: "u1", role: "authenticated" }, SECRET);
  const [h, , s] = token.split(".");
  const forged = `${h}.${enc({ sub: "u1", role: "service_role" })}.${s}`;
  assertEquals(await verifyHs256(forged, SECRET, NOW), { ok: false, reason: "bad signature" });
});

Deno.test("alg none and other algorithms are refused", async () => {
  const none = `${enc({ alg: "none", typ: "JWT" })}.${enc({ sub: "u1" })}.x`;
  assertEquals(await verifyHs256(none, SECRET, NOW), { ok: false, reason: 'unsupported alg "none"' });
  const data = `${enc({ alg: "HS512", typ: "JWT" })}.${enc({ sub: "u1" })}`;
  const hs512 = `${data}.${await hmac(data, SECRET)}`;
  assertEquals(await verifyHs256(hs512, SECRET, NOW), { ok: false, reason: 'unsupported alg "HS512"' });
});

Deno.test("exp and nbf are enforced", async () => {
  const expired = await signHs256({ sub: "u1", exp: NOW - 1 }, SECRET);
  assertEquals(await verifyHs256(expired, SECRET, NOW), { ok: false, reason: "token expired" });
  const atExp = await signHs256({ sub: "u1", exp: NOW }, SECRET);
  assertEquals(await verifyHs256(atExp, SECRET, NOW), { ok: false, reason: "token expired" });
  const early = await signHs256({ sub: "u1", nbf: NOW + 30 }, SECRET);
  assertEquals(await verifyHs256(early, SECRET, NOW), { ok: false, reason: "token not yet valid" });
  const badExp = await signHs256({ sub: "u1", exp: "tomorrow" }, SECRET);
  assertEquals(await verifyHs256(badExp, SECRET, NOW), { ok: false, reason: "exp is not a number" });
  const noExp = await signHs256({ sub: "u1" }, SECRET);
  assert((await verifyHs256(noExp, SECRET, NOW)).ok, "a token without exp is accepted");
});

Deno.test("malformed tokens are refused without throwing", async () => {
  const good = await signHs256({ sub: "u1" }, SECRET);
  const [h, p, s] = good.split(".");
  const cases: Array<[string, string]> = [
    ["", "malformed token"],
    ["abc", "malformed token"],
    [`${h}.${p}`, "malformed token"],
    [`${h}.${p}.${s}.extra`, "malformed token"],
    [`${h}..${s}`, "malformed token"],
    [`!!!.${p}.${s}`, "malformed header"],
    [`${enc([1, 2])}.${p}.${s}`, "malformed header"],
    [`${h}.${p}.***`, "malformed signature"],
  ];
  for (const [token, reason] of cases) {
    assertEquals(await verifyHs256(token, SECRET, NOW), { ok: false, reason }, `token ${JSON.stringify(token)}`);
  }
  const data = `${h}.${base64UrlEncode(new TextEncoder().encode("not json"))}`;
  assertEquals(await verifyHs256(`${data}.${await hmac(data, SECRET)}`, SECRET, NOW), { ok: false, reason: "malformed payload" });
});

Deno.test("base64url round-trips and rejects invalid text", () => {
  const bytes = new Uint8Array([0, 250, 251, 252, 253, 254, 255, 62, 63]);
  assertEquals([...base64UrlDecode(base64UrlEncode(bytes))!], [...bytes]);
  assertEquals(base64UrlDecode("a+b/"), null);
  assertEquals(base64UrlDecode("abcde"), null);
});

Deno.test("bearerToken reads the Authorization header", () => {
  assertEquals(bearerToken(new Headers({ authorization: "Bearer abc.def.ghi" })), "abc.def.ghi");
  assertEquals(bearerToken(new Headers({ authorization: "bearer   abc.def.ghi  " })), "abc.def.ghi");
  assertEquals(bearerToken(new Headers({ authorization: "Basic dXNlcjpwYXNz" })), null);
  assertEquals(bearerToken(new Headers({ authorization: "Bearer" })), null);
  assertEquals(bearerToken(new Headers()), null);
});
