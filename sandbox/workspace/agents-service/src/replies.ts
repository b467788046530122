/** The agent itself: a canned, rule-based waiter that answers by intent. */
export type Intent = "greeting" | "menu" | "allergens" | "hours" | "order" | "fallback";

export interface AgentReply {
  intent: Intent;
  reply: string;
}

const INTENT_RULES: ReadonlyArray<{ intent: Exclude<Intent, "fallback">; pattern: RegExp }> = [
  { intent: "allergens", pattern: /\b(allerg\w*|gluten|nuts?|peanuts?|vegan|vegetarian|lactose|dairy)\b/ },
  { intent: "menu", pattern: /\b(menu|recommend\w*|dish(es)?|special|hungry|eat|drinks?)\b/ },
  { intent: "hours", pattern: /\b(open|close[sd]?|hours?|when)\b/ },
  { intent: "order", pattern: /\b(order|bill|pay|payment|checkout|cart)\b/ },
  { intent: "greeting", pattern: /\b(hi|hello|hey|muraho|bonjour|good (morning|evening))\b/ },
];

export function detectIntent(message: string): Intent {
  const text = message.toLowerCase();
  return INTENT_RULES.find((rule) => rule.pattern.test(text))?.intent ?? "fallback";
}

export function replyTo(tenant: string, message: string): AgentReply {
  const intent = detectIntent(message);
  const replies: Record<Intent, string> = {
    greeting: `Hello! I'm the ICUPA assistant for ${tenant}. Ask me about the menu, allergens or your order.`,
    menu: `Today at ${tenant} the kitchen recommends the house special and a seasonal juice. The full menu is on the Menu page.`,
    allergens: "Every dish on the menu lists its allergens; ask your server to confirm before ordering if you have a severe allergy.",
    hours: `${tenant} serves from 08:00 to 22:00 every day.`,
    order: "Add dishes to your cart, then pay on the Checkout page. Your server is notified as soon as payment succeeds.",
    fallback: "I can help with the menu, allergens, opening hours and your order.",
  };
  return { intent, reply: replies[intent] };
}
