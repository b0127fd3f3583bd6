import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, checkLogEntry, isCanonicalJson, decodeLogEntry, encodeLogEntry, leafHash, LOG_ACTIONS, LOG_AUTH_METHODS, LogEntryError, type LogEntry } from '../../src/ledger/index.js';

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

  test('the direct encoding is exactly RFC 8785 canonicalJson of the checked entry, and decodes back', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/);
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/);
    const uuid = fc.uuid();
    const entry = fc.record(
      {
        v: fc.constant(1 as const),
        time: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
        tenant: fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/),
        principal: fc.record({ id, auth: fc.constantFrom(...LOG_AUTH_METHODS) }),
        action: fc.constantFrom(...LOG_ACTIONS),
        collection: fc.option(name, { nil: null }),
        records: fc.array(uuid, { maxLength: 4 }),
        subjects: fc.array(id, { maxLength: 4 }),
        fields: fc.array(name, { maxLength: 4 }),
        purpose: name,
        count: fc.oneof(fc.nat({ max: 20_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
        location: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/),
        outcome: fc.constantFrom('ok', 'POLICY_DENIED', 'RECORD_NOT_FOUND'),
        requestId: id,
        client: fc.constantFrom(null, '192.0.2.7', '2001:db8::1', 'fe80::1%eth0'),
      },
      { requiredKeys: ['v', 'time', 'tenant', 'principal', 'action', 'collection', 'records', 'subjects', 'fields', 'outcome', 'requestId', 'client'] },
    );
    fc.assert(
      fc.property(entry, (e) => {
        const bytes = encodeLogEntry(e as LogEntry);
        assert.equal(bytes.toString('utf8'), canonicalJson(checkLogEntry(e as LogEntry)));
        assert.deepEqual(decodeLogEntry(bytes), checkLogEntry(e as LogEntry));
      }),
      { numRuns: 300 },
    );
  });

  test('decode accepts exactly what parse + RFC 8785 check + field check accepts (edited, inserted, deleted bytes)', () => {
    /** The reference: canonical JSON (parse, re-canonicalise, compare), then the field checks. */
    const reference = (bytes: Uint8Array): LogEntry | undefined => {
      if (!isCanonicalJson(bytes)) return undefined;
      try {
        return checkLogEntry(JSON.parse(Buffer.from(bytes).toString('utf8')) as LogEntry);
      } catch {
        return undefined;
      }
    };
    const mine = (bytes: Uint8Array): LogEntry | undefined => {
      try {
        return decodeLogEntry(bytes);
      } catch (e) {
        assert.ok(e instanceof LogEntryError);
        return undefined;
      }
    };
    const { purpose: _p, ...noPurpose } = ENTRY;
    const bases = [
      encodeLogEntry(ENTRY),
      encodeLogEntry({ ...noPurpose, client: null, collection: null, records: [], subjects: [], fields: [] }),
      encodeLogEntry({ ...ENTRY, count: 10_000, location: 'jp-east-1' }),
    ];
    const interesting = [...'{}[]",:0123456789 \\nulaptv-.', '\u00e9', '\u0000'].map((c) => Buffer.from(c, 'utf8'));
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.nat(),
        fc.constantFrom('replace', 'insert', 'delete'),
        fc.oneof(fc.constantFrom(...interesting), fc.uint8Array({ minLength: 1, maxLength: 2 }).map((a) => Buffer.from(a))),
        (base, pos, op, with_) => {
          const at = pos % (base.length + 1);
          const edited =
            op === 'delete'
              ? Buffer.concat([base.subarray(0, at), base.subarray(at + 1)])
              : Buffer.concat([base.subarray(0, at), with_, base.subarray(op === 'replace' ? at + with_.length : at)]);
          assert.deepEqual(mine(edited), reference(edited));
        },
      ),
      { numRuns: 3000 },
    );
    for (const base of bases) assert.deepEqual(mine(base), reference(base));
  });

  test('decode refuses invalid UTF-8, a byte-order mark and duplicate members', () => {
    const bytes = encodeLogEntry(ENTRY);
    const at = bytes.indexOf('p-000123');
    const bad = Buffer.from(bytes);
    bad[at] = 0xff;
    assert.throws(() => decodeLogEntry(bad), LogEntryError);
    assert.throws(() => decodeLogEntry(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes])), LogEntryError);
    const dup = Buffer.from(bytes.toString('utf8').replace('{"action":"record.read",', '{"action":"record.list","action":"record.read",'));
    assert.throws(() => decodeLogEntry(dup), LogEntryError);
  });

  test('decode refuses non-canonical bytes and oversize entries', () => {
    const text = encodeLogEntry(ENTRY).toString('utf8');
    assert.throws(() => decodeLogEntry(Buffer.from(text.replace('{', '{ '))), LogEntryError);
    assert.throws(() => decodeLogEntry(Buffer.from(JSON.stringify(ENTRY))), LogEntryError);
    const many = Array.from({ length: 2000 }, (_, i) => `01960c4a-8f00-7abc-8def-${i.toString(16).padStart(12, '0')}`);
    assert.throws(() => encodeLogEntry({ ...ENTRY, records: many }), (e: unknown) => e instanceof LogEntryError && e.field === 'size');
  });
});
