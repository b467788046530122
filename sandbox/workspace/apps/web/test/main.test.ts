// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { DEMO_MENU, jsonResponse } from "./fixtures";

describe("registerServiceWorker", async () => {
  const { registerServiceWorker } = await import("../src/main");

  it("registers /sw.js at the root scope in production", async () => {
    const register = vi.fn(() => Promise.resolve({}));
    expect(await registerServiceWorker({ serviceWorker: { register } }, true)).toBe(true);
    expect(register).toHaveBeenCalledWith("/sw.js", { scope: "/" });
  });

  it("skips development builds and browsers without service workers", async () => {
    const register = vi.fn(() => Promise.resolve({}));
    expect(await registerServiceWorker({ serviceWorker: { register } }, false)).toBe(false);
    expect(await registerServiceWorker({}, true)).toBe(false);
    expect(register).not.toHaveBeenCalled();
  });

  it("survives a failed registration", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(await registerServiceWorker({ serviceWorker: { register: () => Promise.reject(new Error("denied")) } }, true)).toBe(false);
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});

describe("start", () => {
  it("mounts the app into #app and shows the release version", async () => {
    const { start } = await import("../src/main");
    document.body.innerHTML = '<div id="app"></div><footer><span data-release-version></span></footer>';
    window.history.replaceState(null, "", "/?tenant=demo-cafe#/menu");
    const fetchSpy = vi.spyOn(window, "fetch").mockImplementation(async () => jsonResponse(DEMO_MENU));
    start(document, window);
    expect(document.querySelector("[data-release-version]")?.textContent).toBe("0.0.0-test");
    await vi.waitFor(() => expect(document.querySelector("h1")?.textContent).toBe("Demo Café"));
    fetchSpy.mockRestore();
  });

  it("refuses a page without #app", async () => {
    const { start } = await import("../src/main");
    document.body.innerHTML = "";
    expect(() => start(document, window)).toThrow("no #app element");
  });
});
