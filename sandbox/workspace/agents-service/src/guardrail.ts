/**
 * A rule-based guardrail in front of the agent. Each rule has a stable name
 * because it becomes the `rule` label of agent_guardrail_breaches_total.
 */
export type GuardrailRule =
  | "message_length"
  | "prompt_injection"
  | "pii_card_number"
  | "pii_email"
  | "deny_list";

export type GuardrailVerdict =
  | { allowed: true }
  | { allowed: false; rule: GuardrailRule; reason: string };

export const MAX_MESSAGE_CHARS = 2000;

const INJECTION_PATTERNS: readonly RegExp[] = [
  /\bignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts|rules)\b/,
  /\bdisregard (all |any )?(your|the|previous|prior) (instructions|rules|guidelines)\b/,
  /\bforget (all |any )?(your|the|previous) (instructions|rules)\b/,
  /\b(reveal|show|print|repeat) (me )?(your|the) (system|hidden) (prompt|instructions)\b/,
  /\byou are now (in )?(dan|developer mode|jailbroken|unrestricted)\b/,
  /\b(jailbreak|developer mode enabled)\b/,
  /<\/?(system|assistant)>/,
];

const DENY_LIST: readonly string[] = [
  "bomb",
  "explosive",
  "weapon",
  "firearm",
  "cocaine",
  "heroin",
  "methamphetamine",
  "credit card dump",
  "stolen card",
];

const EMAIL_PATTERN = /[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}/i;

// Runs of 13 to 19 digits, optionally grouped by single spaces or dashes.
const CARD_CANDIDATE = /(?:\d[ -]?){12,18}\d/g;

/** Luhn checksum, as used by payment card numbers. */
export function passesLuhn(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

export function containsCardNumber(text: string): boolean {
  for (const match of text.matchAll(CARD_CANDIDATE)) {
    const digits = match[0].replace(/[ -]/g, "");
    if (digits.length >= 13 && digits.length <= 19 && passesLuhn(digits)) return true;
  }
  return false;
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

export function checkMessage(message: string): GuardrailVerdict {
  if (message.length > MAX_MESSAGE_CHARS) {
    return { allowed: false, rule: "message_length", reason: `message longer than ${MAX_MESSAGE_CHARS} characters` };
  }
  const text = normalise(message);
  if (INJECTION_PATTERNS.some((pattern) => pattern.test(text))) {
    return { allowed: false, rule: "prompt_injection", reason: "attempt to override the assistant's instructions" };
  }
  if (containsCardNumber(message)) {
    return { allowed: false, rule: "pii_card_number", reason: "message contains a payment card number" };
  }
  if (EMAIL_PATTERN.test(message)) {
    return { allowed: false, rule: "pii_email", reason: "message contains an email address" };
  }
  const denied = DENY_LIST.find((term) => new RegExp(`\\b${term}s?\\b`).test(text));
  if (denied !== undefined) {
    return { allowed: false, rule: "deny_list", reason: `message mentions a denied topic (${denied})` };
  }
  return { allowed: true };
}
