import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeLogEntry, encodeLogEntry, leafHash, LogEntryError, type LogEntry } from '../../src/ledger/index.js';

const ENTRY: LogEntry = {
  v: 1,
  time: '2025-04-01T09:00:00.123Z',
  tenant: '131016',
  principal: { id: '0123456789abcdef', auth: 'api-key' },
  action: 'record.read',
  collection: 'residents',
  records: ['01960c4a-8f00-7abc-8def-0123456789ab'],
  subjects: ['p-000123'],
  fields: ['family_name', 'birth_date'],
  purpose: 'tax_assessment',
  outcome: 'ok',
  requestId: 'req-42',
  client: '192.0.2.7',
};

describe('log entries', () => {
  test('encode: canonical JSON, keys sorted, same entry same bytes and same leaf hash', () => {
    const bytes = encodeLogEntry(ENTRY);
    assert.equal(
      bytes.toString('utf8'),
      '{"action":"record.read","client":"192.0.2.7","collection":"residents","fields":["family_name","birth_date"],' +
        '"outcome":"ok","principal":{"auth":"api-key","id":"0123456789abcdef"},"purpose":"tax_assessment",' +
        '"records":["01960c4a-8f00-7abc-8def-0123456789ab"],"requestId":"req-42","subjects":["p-000123"],' +
        '"tenant":"131016","time":"2025-04-01T09:00:00.123Z","v":1}',
    );
    const reordered = Object.fromEntries(Object.entries(ENTRY).reverse()) as unknown as LogEntry;
    assert.deepEqual(leafHash(encodeLogEntry(reordered)), leafHash(bytes));
    assert.deepEqual(decodeLogEntry(bytes), ENTRY);
    assert.ok(Object.isFrozen(decodeLogEntry(bytes)));
  });

  test('purpose is optional; outcome may be an error code; client may be null or IPv6', () => {
    const { purpose: _omit, ...rest } = ENTRY;
    const e: LogEntry = { ...rest, outcome: 'POLICY_DENIED' as LogEntry['outcome'], client: '2001:db8::1' };
    assert.equal(encodeLogEntry(e).includes('purpose'), false);
    assert.deepEqual(decodeLogEntry(encodeLogEntry(e)), e);
    assert.deepEqual(decodeLogEntry(encodeLogEntry({ ...ENTRY, client: null, collection: null })).client, null);
  });

  test('a personal value cannot be represented in any field', () => {
    const personal = ['山田 太郎', 'Yamada Taro', 'taro@example.jp', '東京都千代田区1-1', '090 1234 5678', 'a b', ''];
    const slots: Array<[string, (v: string) => unknown]> = [
      ['tenant', (v) => ({ ...ENTRY, tenant: v })],
      ['principal.id', (v) => ({ ...ENTRY, principal: { ...ENTRY.principal, id: v } })],
      ['action', (v) => ({ ...ENTRY, action: v })],
      ['collection', (v) => ({ ...ENTRY, collection: v })],
      ['records', (v) => ({ ...ENTRY, records: [v] })],
      ['subjects', (v) => ({ ...ENTRY, subjects: [v] })],
      ['fields', (v) => ({ ...ENTRY, fields: [v] })],
      ['purpose', (v) => ({ ...ENTRY, purpose: v })],
      ['outcome', (v) => ({ ...ENTRY, outcome: v })],
      ['requestId', (v) => ({ ...ENTRY, requestId: v })],
      ['client', (v) => ({ ...ENTRY, client: v })],
      ['time', (v) => ({ ...ENTRY, time: v })],
    ];
    for (const [field, make] of slots) {
      for (const v of personal) {
        assert.throws(() => encodeLogEntry(make(v) as LogEntry), (e: unknown) => e instanceof LogEntryError && e.field === field, `${field} accepted ${v}`);
      }
    }
    // No room for a value anywhere else: unknown members (a `value`, a `note`, extra principal data) are refused.
    for (const extra of [{ value: 'x' }, { note: 'free text' }, { fieldValues: {} }]) {
      assert.throws(() => encodeLogEntry({ ...ENTRY, ...extra } as LogEntry), LogEntryError);
    }
    assert.throws(() => encodeLogEntry({ ...ENTRY, principal: { ...ENTRY.principal, name: 'Taro' } } as LogEntry), LogEntryError);
    // Property: any string containing a space or a non-ASCII character fits no string field.
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }).filter((s) => /[\s\u0080-\uffff]/u.test(s)), (v) => {
      for (const [, make] of slots) assert.throws(() => encodeLogEntry(make(v) as LogEntry), LogEntryError);
    }), { numRuns: 200 });
  });

  test('decode refuses non-canonical bytes and oversize entries', () => {
    const text = encodeLogEntry(ENTRY).toString('utf8');
    assert.throws(() => decodeLogEntry(Buffer.from(text.replace('{', '{ '))), LogEntryError);
    assert.throws(() => decodeLogEntry(Buffer.from(JSON.stringify(ENTRY))), LogEntryError);
    const many = Array.from({ length: 2000 }, (_, i) => `01960c4a-8f00-7abc-8def-${i.toString(16).padStart(12, '0')}`);
    assert.throws(() => encodeLogEntry({ ...ENTRY, records: many }), (e: unknown) => e instanceof LogEntryError && e.field === 'size');
  });
});
