import { KurabanError, type ErrorDetail } from '../errors/index.js';
import type { DataKey, Keyring } from '../keys/index.js';
import { validateRecord, type FieldDef, type FieldValue, type RecordValues } from '../schema/index.js';
import type { FoundTokenRow, Store, StoreOps, TokenRow } from '../store/index.js';
import {
  fieldTokenKeys, fpeValueProblem, makeTokens, openDeterministicTokens, openFpeTokens, openTokenValues, parseToken, sealTokenValues, tokenHashes, tokenLookupKeys,
  type FieldTokenKeys, type TokenScope,
} from '../tokens/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, type Audit } from './audit.js';
import type { Collection, Collections } from './collections.js';
import { SUBJECT_ID_PATTERN } from './identifiers.js';
import { openRecordValues } from './open-record.js';

/** A deterministic or format-preserving token standing for more records than this is tied to none of them (log, row conditions). */
export const MAX_ATTRIBUTED_RECORDS = 10;

/** At most this many values or tokens per tokenise / detokenise call. */
export const MAX_TOKENS_PER_CALL = 10_000;

export interface TokensDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly collections: Collections;
  readonly clock: () => Date;
  readonly accessLog: AccessLog;
}

/** The tokens of one record row, by field name. */
export type RecordTokens = Readonly<Record<string, string>>;

export interface DetokenizeOptions {
  readonly audit?: Audit;
  /**
   * Row conditions: called with the values of each record a token stands for; false refuses the
   * whole call (POLICY_DENIED). Tokens made outside a record have no row.
   */
  readonly rowAllowed?: (values: RecordValues) => boolean;
}

export interface Detokenized {
  readonly values: FieldValue[];
  readonly records: string[];
  readonly subjects: string[];
}

/** The tokenised fields of a collection (top level only: the schema allows no other). */
export function tokenFields(collection: Collection): FieldDef[] {
  return collection.schema.fields.filter((f) => f.token !== undefined);
}

/**
 * Tokens (docs/tokens.md, src/tokens/NOTES.md): made for a record's tokenised fields when it is
 * written (in the write's transaction), or for values on their own; resolved back to values under
 * the tenant's policy. Every issued token has a registry row (its look-up hash, never the token), so
 * an unknown, foreign or erased token is refused — never turned into a wrong value.
 */
export class Tokens {
  constructor(private readonly deps: TokensDeps) {}

  /**
   * Tokens for records being written: one per tokenised field that has a value. Returns the rows to
   * register in the write's transaction and each record's tokens.
   */
  async forRecords(
    collection: Collection,
    records: ReadonlyArray<{ readonly id: string; readonly subjectId: string | null }>,
    values: readonly RecordValues[],
    now: string,
  ): Promise<{ rows: TokenRow[]; tokens: RecordTokens[] }> {
    const fields = tokenFields(collection);
    if (fields.length === 0) return { rows: [], tokens: records.map(() => ({})) };
    const { tenantId } = collection;
    const tokenKey = await this.deps.keyring.tokenKey(this.deps.store, tenantId, collection.id);
    const perField = await Promise.all(fields.map((f) => this.fieldKeys(collection, f, tokenKey)));
    const rows: TokenRow[] = [];
    const tokens: Array<Record<string, string>> = records.map(() => ({}));
    for (const k of perField) {
      const name = k.scope.field.name;
      const at: number[] = [];
      const fieldValues: FieldValue[] = [];
      values.forEach((v, i) => {
        const value = v[name];
        if (value === undefined) return;
        at.push(i);
        fieldValues.push(value);
      });
      const made = makeTokens(k.scope, k.keys, fieldValues);
      const hashes = tokenHashes(k.scope.field, k.lookup, made);
      made.forEach((token, j) => {
        const i = at[j] as number;
        const r = records[i] as (typeof records)[number];
        (tokens[i] as Record<string, string>)[name] = token;
        rows.push(this.row(k, hashes[j] as Buffer, r.id, r.subjectId, null, now));
      });
    }
    tokenKey.key.fill(0);
    return { rows, tokens };
  }

  /**
   * Tokenises values of one field outside any record (a legacy system's column): validated as the
   * field's values are, registered, one log entry for the call with the token count.
   */
  async tokenize(tenantId: string, collectionName: string, fieldName: string, values: readonly unknown[], options: { subjectId?: string; audit?: Audit } = {}): Promise<string[]> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const field = this.tokenField(collection, fieldName);
    if (values.length === 0 || values.length > MAX_TOKENS_PER_CALL) throw new KurabanError('BATCH_TOO_LARGE', `1 to ${MAX_TOKENS_PER_CALL} values per call`);
    const subjectId = options.subjectId ?? null;
    if (subjectId !== null && !SUBJECT_ID_PATTERN.test(subjectId)) {
      throw new KurabanError('TOKEN_INVALID', undefined, { details: [{ field: 'subjectId', reason: 'invalid_subject_id' }] });
    }
    const problems: ErrorDetail[] = [];
    const canonical: FieldValue[] = [];
    const one = [{ ...field, required: true }];
    values.forEach((value, index) => {
      const checked = validateRecord({ fields: one }, { [field.name]: value });
      const v = checked.values[field.name];
      if (checked.problems.length > 0 || v === undefined) {
        for (const p of checked.problems) problems.push({ index, field: field.name, reason: p.reason });
        return;
      }
      const fpe = field.token === 'format-preserving' ? fpeValueProblem(field, v) : undefined;
      if (fpe) problems.push({ index, field: field.name, reason: fpe });
      else canonical.push(v);
    });
    if (problems.length > 0) throw new KurabanError('TOKEN_INVALID', 'some values cannot be tokenised', { details: problems.slice(0, 100) });
    const tokenKey = await this.deps.keyring.tokenKey(this.deps.store, tenantId, collection.id);
    const k = await this.fieldKeys(collection, field, tokenKey);
    tokenKey.key.fill(0);
    const now = this.deps.clock().toISOString();
    const tokens = makeTokens(k.scope, k.keys, canonical);
    const hashes = tokenHashes(field, k.lookup, tokens);
    // Random tokens made here have no record to resolve through: the vault keeps the value, sealed.
    const sealed = field.token === 'random' ? sealTokenValues(k.scope, k.keys, hashes, canonical) : undefined;
    const rows = hashes.map((hash, i) => this.row(k, hash, null, subjectId, sealed?.[i] ?? null, now));
    await this.deps.store.transaction(async (tx) => {
      await tx.insertTokens(rows);
      if (options.audit) {
        const touched = { collection: collection.name, subjects: [subjectId], fields: [field.name], count: tokens.length };
        await this.deps.accessLog.append(tx, ...auditEntries(options.audit, tenantId, 'token.tokenize', touched, 'ok', this.deps.clock()));
      }
    });
    return tokens;
  }

  /**
   * The values of tokens of one field, all or nothing: a malformed token is TOKEN_INVALID, one the
   * registry does not hold (never issued, of another tenant or field, erased) or that does not open is
   * TOKEN_NOT_FOUND — each named by its index, never echoed.
   */
  async detokenize(tenantId: string, collectionName: string, fieldName: string, tokens: readonly unknown[], options: DetokenizeOptions = {}): Promise<Detokenized> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const field = this.tokenField(collection, fieldName);
    if (tokens.length === 0 || tokens.length > MAX_TOKENS_PER_CALL) throw new KurabanError('BATCH_TOO_LARGE', `1 to ${MAX_TOKENS_PER_CALL} tokens per call`);
    const malformed: ErrorDetail[] = [];
    const parsed = tokens.map((t, index) => {
      const p = typeof t === 'string' ? parseToken(field, t) : { ok: false as const };
      if (!p.ok) malformed.push({ index, reason: 'malformed_token' });
      return p;
    });
    if (malformed.length > 0) throw new KurabanError('TOKEN_INVALID', 'some tokens are not tokens of this field', { details: malformed.slice(0, 100) });
    const texts = tokens as readonly string[];
    const kind = field.token ?? 'random';
    const lookup = tokenLookupKeys(await this.deps.keyring.tokenLookupKey(this.deps.store, tenantId, collection.id, field.name));
    const hashes = tokenHashes(field, lookup, texts);
    // The registry checks tenant, collection, field and kind: a row of anything else is not found.
    const rows = await this.deps.store.findTokens({ tenantId, collectionId: collection.id, field: field.name, kind }, hashes);
    const found: FoundTokenRow[][] = texts.map(() => []);
    for (const r of rows) found[r.at]?.push(r);
    const unknown: ErrorDetail[] = [];
    found.forEach((list, index) => {
      if (list.length === 0) unknown.push({ index, reason: 'unknown_token' });
    });
    if (unknown.length > 0) throw new KurabanError('TOKEN_NOT_FOUND', undefined, { details: unknown.slice(0, 100) });

    // The records the tokens stand for: random tokens resolve through them; row conditions see them.
    const needRecords = field.token === 'random' || (options.rowAllowed !== undefined && collection.schema.fields.some((f) => f.type === 'boolean'));
    // A value many records share (a common name's deterministic token) stands for none of them in
    // particular: only tokens of at most MAX_ATTRIBUTED_RECORDS records are tied to their records.
    const attributed = found.map((list) => (list.length <= MAX_ATTRIBUTED_RECORDS || list.filter((r) => r.recordId !== null).length <= MAX_ATTRIBUTED_RECORDS ? list : list.filter((r) => r.recordId === null)));
    const recordIds = needRecords ? dedupe(attributed.flatMap((list) => list.map((r) => r.recordId).filter((id): id is string => id !== null))) : [];
    const recordValues = needRecords ? await this.openRecords(collection, recordIds) : new Map<string, RecordValues>();
    if (options.rowAllowed && needRecords) {
      const refused: ErrorDetail[] = [];
      attributed.forEach((list, index) => {
        for (const r of list) {
          if (r.recordId === null) continue;
          // Fail closed: a record that cannot be opened cannot be shown to be outside a row condition.
          const v = recordValues.get(r.recordId);
          if (v === undefined || !options.rowAllowed?.(v)) {
            refused.push({ index, reason: 'row_condition' });
            return;
          }
        }
      });
      if (refused.length > 0) throw new KurabanError('POLICY_DENIED', "a token stands for a record under a row condition of the tenant's policy", { details: refused.slice(0, 100) });
    }

    const scope: TokenScope = { tenantId, collectionId: collection.id, field };
    const keysByVersion = new Map<number, FieldTokenKeys>();
    const keysFor = async (version: number) => {
      let k = keysByVersion.get(version);
      if (!k) {
        const tokenKey = await this.deps.keyring.tokenKey(this.deps.store, tenantId, collection.id, version);
        k = fieldTokenKeys(scope, tokenKey);
        tokenKey.key.fill(0);
        keysByVersion.set(version, k);
      }
      return k;
    };
    // Each token's value and the rows it resolved through (undefined: it does not open).
    const opened = new Array<{ value: FieldValue; rows: readonly FoundTokenRow[] } | undefined>(texts.length);
    if (field.token === 'format-preserving' || field.token === 'deterministic') {
      // Batched per key version: FF1's rounds, the SIV-CTR keystream. A format-preserving token's
      // version is its registry row's; a deterministic token's is in its text and must be a row's.
      const byVersion = new Map<number, number[]>();
      found.forEach((list, index) => {
        const parsedVersion = parsed[index]?.ok ? parsed[index].version : undefined;
        const version = field.token === 'format-preserving' ? (list[0] as FoundTokenRow).keyVersion : parsedVersion;
        if (version === undefined || !list.some((r) => r.keyVersion === version)) return;
        const at = byVersion.get(version);
        if (at) at.push(index);
        else byVersion.set(version, [index]);
      });
      for (const [version, indexes] of byVersion) {
        const k = await keysFor(version);
        const some = indexes.map((i) => texts[i] as string);
        const values = field.token === 'format-preserving' ? openFpeTokens(scope, k, some) : openDeterministicTokens(scope, k, some);
        values.forEach((value, j) => {
          const i = indexes[j] as number;
          if (value !== undefined) opened[i] = { value, rows: attributed[i] as FoundTokenRow[] };
        });
      }
    } else {
      // Random tokens: the value sealed in a row (opened in batches per key version), or the record's.
      const sealedValues = new Map<FoundTokenRow, FieldValue | undefined>();
      const byVersion = new Map<number, Array<{ row: FoundTokenRow; hash: Buffer }>>();
      found.forEach((list, index) => {
        for (const row of list) {
          if (row.valueCt === null) continue;
          const at = byVersion.get(row.keyVersion);
          const item = { row, hash: hashes[index] as Buffer };
          if (at) at.push(item);
          else byVersion.set(row.keyVersion, [item]);
        }
      });
      for (const [version, items] of byVersion) {
        const k = await keysFor(version);
        openTokenValues(scope, k, items.map((i) => i.hash), items.map((i) => i.row.valueCt as Buffer)).forEach((value, j) => sealedValues.set((items[j] as { row: FoundTokenRow }).row, value));
      }
      found.forEach((list, index) => {
        opened[index] = resolveRandom(field, list, sealedValues, recordValues);
      });
    }
    const values: FieldValue[] = [];
    const usedRecords = new Set<string>();
    const usedSubjects = new Set<string>();
    const notFound: ErrorDetail[] = [];
    for (let index = 0; index < texts.length; index++) {
      const o = opened[index];
      if (o === undefined) {
        notFound.push({ index, reason: 'unknown_token' });
        continue;
      }
      values.push(o.value);
      for (const r of o.rows) {
        if (r.recordId !== null) usedRecords.add(r.recordId);
        if (r.subjectId !== null) usedSubjects.add(r.subjectId);
      }
    }
    if (notFound.length > 0) throw new KurabanError('TOKEN_NOT_FOUND', undefined, { details: notFound.slice(0, 100) });
    return { values, records: [...usedRecords], subjects: [...usedSubjects] };
  }

  /** Decrypts the records tokens stand for (a record gone or unreadable is simply absent). */
  private async openRecords(collection: Collection, ids: readonly string[]): Promise<Map<string, RecordValues>> {
    const out = new Map<string, RecordValues>();
    if (ids.length === 0) return out;
    const rows = await this.deps.store.getRecords(collection.id, ids);
    for (const row of rows) {
      try {
        out.set(row.id, await openRecordValues(this.deps.keyring, this.deps.store, collection, row));
      } catch (e) {
        if (!(e instanceof KurabanError && e.code === 'DECRYPTION_FAILED')) throw e;
      }
    }
    return out;
  }

  private tokenField(collection: Collection, name: string): FieldDef {
    const field = collection.schema.fields.find((f) => f.name === name);
    if (!field) throw new KurabanError('TOKEN_INVALID', 'no such field', { details: [{ reason: 'unknown_field' }] });
    if (field.token === undefined) throw new KurabanError('TOKEN_INVALID', 'this field is not tokenised', { details: [{ field: field.name, reason: 'field_not_tokenised' }] });
    return field;
  }

  private async fieldKeys(collection: Collection, field: FieldDef, tokenKey: DataKey, ops: StoreOps = this.deps.store) {
    const scope: TokenScope = { tenantId: collection.tenantId, collectionId: collection.id, field };
    const lookup = tokenLookupKeys(await this.deps.keyring.tokenLookupKey(ops, collection.tenantId, collection.id, field.name));
    return { scope, keys: fieldTokenKeys(scope, tokenKey), lookup };
  }

  private row(k: { scope: TokenScope; keys: FieldTokenKeys }, hash: Buffer, recordId: string | null, subjectId: string | null, valueCt: Buffer | null, now: string): TokenRow {
    return {
      collectionId: k.scope.collectionId,
      field: k.scope.field.name,
      tokenHash: hash,
      recordId,
      tenantId: k.scope.tenantId,
      kind: k.scope.field.token ?? 'random',
      keyVersion: k.keys.version,
      subjectId,
      valueCt,
      createdAt: now,
    };
  }
}

/** A random token's value: the first of its rows that has one — sealed in the row (made outside a record), or its record's field. */
function resolveRandom(
  field: FieldDef,
  rows: readonly FoundTokenRow[],
  sealedValues: ReadonlyMap<FoundTokenRow, FieldValue | undefined>,
  recordValues: ReadonlyMap<string, RecordValues>,
): { value: FieldValue; rows: readonly FoundTokenRow[] } | undefined {
  for (const r of rows) {
    const v = r.valueCt !== null ? sealedValues.get(r) : r.recordId === null ? undefined : recordValues.get(r.recordId)?.[field.name];
    if (v !== undefined) return { value: v, rows: [r] };
  }
  return undefined;
}

function dedupe<T extends string | Buffer>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const x of items) {
    const k = typeof x === 'string' ? x : x.toString('hex');
    if (!seen.has(k)) {
      seen.add(k);
      out.push(x);
    }
  }
  return out;
}
