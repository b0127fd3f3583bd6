/**
 * Suite setup that runs once, on first use. Register it with `beforeEach(once(...))` rather than
 * `before(...)`: when setup fails (e.g. PostgreSQL is not running), node:test then fails every test
 * with the setup's error, where a failing `before` hook only marks them cancelled.
 */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}
