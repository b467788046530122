// Hand-written Prometheus text exposition (format 0.0.4) for the functions server.

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

interface Histogram {
  buckets: number[]; // cumulative counts, one per DURATION_BUCKETS entry
  sum: number;
  count: number;
}

export class Metrics {
  readonly #requests = new Map<string, number>(); // key: function \u0000 status
  readonly #durations = new Map<string, Histogram>(); // key: function

  constructor(readonly version: string) {}

  /** Records one request answered by `fn` with HTTP `status` in `seconds`. */
  observe(fn: string, status: number, seconds: number): void {
    const key = `${fn}\u0000${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let h = this.#durations.get(fn);
    if (!h) {
      h = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(fn, h);
    }
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) h!.buckets[i]++;
    });
    h.sum += seconds;
    h.count++;
  }

  requestCount(fn: string, status: number): number {
    return this.#requests.get(`${fn}\u0000${status}`) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    lines.push("# HELP edge_function_requests_total Edge function requests by function and HTTP status.");
    lines.push("# TYPE edge_function_requests_total counter");
    for (const key of [...this.#requests.keys()].sort()) {
      const [fn, status] = key.split("\u0000");
      lines.push(
        `edge_function_requests_total{function="${escapeLabel(fn)}",status="${status}"} ${this.#requests.get(key)}`,
      );
    }
    lines.push("# HELP edge_function_duration_seconds Edge function request duration in seconds.");
    lines.push("# TYPE edge_function_duration_seconds histogram");
    for (const fn of [...this.#durations.keys()].sort()) {
      const h = this.#durations.get(fn)!;
      const label = `function="${escapeLabel(fn)}"`;
      DURATION_BUCKETS.forEach((le, i) => {
        lines.push(`edge_function_duration_seconds_bucket{${label},le="${formatNumber(le)}"} ${h.buckets[i]}`);
      });
      lines.push(`edge_function_duration_seconds_bucket{${label},le="+Inf"} ${h.count}`);
      lines.push(`edge_function_duration_seconds_sum{${label}} ${formatNumber(h.sum)}`);
      lines.push(`edge_function_duration_seconds_count{${label}} ${h.count}`);
    }
    lines.push("# HELP edge_function_build_info Release version served by this process.");
    lines.push("# TYPE edge_function_build_info gauge");
    lines.push(`edge_function_build_info{version="${escapeLabel(this.version)}"} 1`);
    return lines.join("\n") + "\n";
  }
}
