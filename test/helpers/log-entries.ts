import type { LogEntry } from '../../src/ledger/index.js';

/** A valid access-log entry for tests: entry n of `tenant`, a read of `residents`, overridable. */
export function testLogEntry(tenant: string, n: number, over: Partial<LogEntry> = {}): LogEntry {
  return {
    v: 1,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, n % 1000)).toISOString(),
    tenant,
    principal: { id: '0123456789abcdef', auth: 'api-key' },
    action: 'record.read',
    collection: 'residents',
    records: [],
    subjects: [],
    fields: [],
    outcome: 'ok',
    requestId: `req-${n}`,
    client: null,
    ...over,
  };
}
