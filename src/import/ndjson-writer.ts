import type { VaultRecord } from '../vault/index.js';

/**
 * One record as an NDJSON line, the shape `kuraban export` and `kuraban search` print and
 * `kuraban import` reads back (`id` and `version` are skipped on import). An explicit list of keys:
 * timestamps and anything added to VaultRecord later stay out until chosen.
 */
export function ndjsonRecord(record: VaultRecord): string {
  return `${JSON.stringify({ id: record.id, subjectId: record.subjectId, version: record.version, fields: record.fields })}\n`;
}
