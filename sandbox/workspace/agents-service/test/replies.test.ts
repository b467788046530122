import { describe, expect, it } from "vitest";
import { detectIntent, replyTo } from "../src/replies.js";

describe("detectIntent", () => {
  it.each([
    ["hello there", "greeting"],
    ["What's on the menu today?", "menu"],
    ["Do you have vegan dishes?", "allergens"],
    ["When do you close?", "hours"],
    ["How do I pay my bill?", "order"],
    ["Tell me a joke", "fallback"],
  ])("%j is %s", (message, intent) => {
    expect(detectIntent(message)).toBe(intent);
  });
});

describe("replyTo", () => {
  it("names the tenant where the reply is tenant-specific", () => {
    expect(replyTo("demo-cafe", "hi").reply).toContain("demo-cafe");
    expect(replyTo("demo-cafe", "when are you open").reply).toContain("demo-cafe");
  });

  it("always answers something", () => {
    const answer = replyTo("demo-cafe", "???");
    expect(answer.intent).toBe("fallback");
    expect(answer.reply.length).toBeGreaterThan(0);
  });
});
