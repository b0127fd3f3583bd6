/**
 * An open-loop load generator (node:http): requests are sent at evenly spaced intended times,
 * whatever the server's answers, and each latency is measured from its intended send time
 * (queueing included: no coordinated omission). Used for the read scenario's fixed rates, because
 * autocannon's `overallRate` is bursty: each connection sends its share of a second back to back,
 * then waits for the next second.
 */
import http from 'node:http';

export interface OpenLoopRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export interface OpenLoopResult {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  /** From the intended send time to the end of the response, ms, answered (2xx) requests. */
  readonly latencyMs: number[];
  /** From the actual send to the end of the response (service time seen by the client), ms. */
  readonly serviceMs: number[];
}

export async function openLoop(base: string, rate: number, seconds: number, next: () => OpenLoopRequest, maxSockets = 256): Promise<OpenLoopResult> {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencyMs: number[] = [];
  const serviceMs: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const settle = () => {
    if (++done === total) finish();
  };
  const fire = (intended: number) => {
    const r = next();
    const sentAt = performance.now();
    const req = http.request(
      { host: url.hostname, port: url.port, method: r.method, path: r.path, agent, headers: r.body === undefined ? r.headers : { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) } },
      (res) => {
        res.resume();
        res.on('end', () => {
          const end = performance.now();
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
            ok++;
            latencyMs.push(end - intended);
            serviceMs.push(end - sentAt);
          } else non2xx++;
          settle();
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      errors++;
      settle();
    });
    req.end(r.body);
  };
  const start = performance.now();
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && start + i * interval <= now) fire(start + interval * i++);
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, start + i * interval - performance.now())));
  }
  await finished;
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { rate, seconds: elapsed, sent: total, ok, non2xx, errors, latencyMs, serviceMs };
}
