// A JSON file that is re-read whenever it changes on disk (mtime, size or inode),
// checked at most once per request. Missing file: the fallback value. Unreadable
// or invalid JSON: the last good value is kept and a warning is logged once.

export class JsonFileWatcher<T> {
  #value: T;
  #stamp = "";
  #warnedStamp = "";

  constructor(
    readonly path: string | undefined,
    readonly fallback: T,
    readonly parse: (raw: unknown) => T,
    readonly warn: (message: string) => void = (m) => console.error(m),
  ) {
    this.#value = fallback;
  }

  async current(): Promise<T> {
    if (!this.path) return this.fallback;
    let stamp: string;
    try {
      const info = await Deno.stat(this.path);
      stamp = `${info.mtime?.getTime() ?? 0}:${info.size}:${info.ino ?? 0}`;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        this.#stamp = "missing";
        this.#value = this.fallback;
      } else {
        this.#warnOnce("stat-error", err);
      }
      return this.#value;
    }
    if (stamp === this.#stamp) return this.#value;
    try {
      const text = await Deno.readTextFile(this.path);
      this.#value = this.parse(text.trim() === "" ? {} : JSON.parse(text));
      this.#stamp = stamp;
    } catch (err) {
      this.#warnOnce(stamp, err);
    }
    return this.#value;
  }

  #warnOnce(stamp: string, err: unknown): void {
    if (this.#warnedStamp === stamp) return;
    this.#warnedStamp = stamp;
    this.warn(`ignoring ${this.path}: ${err instanceof Error ? err.message : String(err)} (keeping previous value)`);
  }
}
