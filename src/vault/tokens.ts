import { KurabanError, type ErrorDetail } from '../errors/index.js';
import type { DataKey, Keyring } from '../keys/index.js';
import { validateRecord, type FieldDef, type FieldValue, type RecordValues } from '../schema/index.js';
import type { Store, StoreOps, TokenRow } from '../store/index.js';
import {
  fieldTokenKeys, fpeValueProblem, keyObject, makeTokens, openDeterministicToken, openFpeTokens, openTokenValue, parseToken, sealTokenValue, tokenHash,
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
      made.forEach((token, j) => {
        const i = at[j] as number;
        const r = records[i] as (typeof records)[number];
        (tokens[i] as Record<string, string>)[name] = token;
        rows.push(this.row(k, tokenHash(k.lookup, token), r.id, r.subjectId, null, now));
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
    const rows = tokens.map((token, i) => {
      const hash = tokenHash(k.lookup, token);
      // Random tokens made here have no record to resolve through: the vault keeps the value, sealed.
      const valueCt = field.token === 'random' ? sealTokenValue(k.scope, k.keys, hash, canonical[i] as FieldValue) : null;
      return this.row(k, hash, null, subjectId, valueCt, now);
    });
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
    const lookup = keyObject(await this.deps.keyring.tokenLookupKey(this.deps.store, tenantId, collection.id, field.name));
    const hashes = texts.map((t) => tokenHash(lookup, t));
    const rows = await this.deps.store.findTokens(collection.id, field.name, dedupe(hashes));
    const byHash = new Map<string, TokenRow[]>();
    for (const r of rows) {
      if (r.tenantId !== tenantId || r.kind !== field.token) continue;
      const k = r.tokenHash.toString('hex');
      const list = byHash.get(k);
      if (list) list.push(r);
      else byHash.set(k, [r]);
    }
    const unknown: ErrorDetail[] = [];
    const found = hashes.map((h, index) => {
      const list = byHash.get(h.toString('hex'));
      if (!list || list.length === 0) unknown.push({ index, reason: 'unknown_token' });
      return list ?? [];
    });
    if (unknown.length > 0) throw new KurabanError('TOKEN_NOT_FOUND', undefined, { details: unknown.slice(0, 100) });

    // The records the tokens stand for: random tokens resolve through them; row conditions see them.
    const needRecords = field.token === 'random' || (options.rowAllowed !== undefined && collection.schema.fields.some((f) => f.type === 'boolean'));
    // A value many records share (a common name's deterministic token) stands for none of them in
    // particular: only tokens of at most MAX_ATTRIBUTED_RECORDS records are tied to their records.
    const attributed = found.map((list) => (list.filter((r) => r.recordId !== null).length <= MAX_ATTRIBUTED_RECORDS ? list : list.filter((r) => r.recordId === null)));
    const recordIds = dedupe(attributed.flatMap((list) => list.map((r) => r.recordId).filter((id): id is string => id !== null)));
    const recordValues = needRecords ? await this.openRecords(collection, recordIds) : new Map<string, RecordValues>();
    if (options.rowAllowed) {
      const refused: ErrorDetail[] = [];
      attributed.forEach((list, index) => {
        for (const r of list) {
          if (r.recordId === null || !needRecords) continue;
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

    const keysByVersion = new Map<number, { scope: TokenScope; keys: FieldTokenKeys }>();
    const keysFor = async (version: number) => {
      let k = keysByVersion.get(version);
      if (!k) {
        const tokenKey = await this.deps.keyring.tokenKey(this.deps.store, tenantId, collection.id, version);
        k = { scope: { tenantId, collectionId: collection.id, field }, keys: fieldTokenKeys({ tenantId, collectionId: collection.id, field }, tokenKey) };
        tokenKey.key.fill(0);
        keysByVersion.set(version, k);
      }
      return k;
    };
    // Format-preserving tokens: FF1-decrypted in batches, one per key version.
    const fpeValues = new Map<number, FieldValue>();
    if (field.token === 'format-preserving') {
      const byVersion = new Map<number, number[]>();
      found.forEach((list, index) => {
        const version = (list[0] as TokenRow).keyVersion;
        const at = byVersion.get(version);
        if (at) at.push(index);
        else byVersion.set(version, [index]);
      });
      for (const [version, indexes] of byVersion) {
        const k = await keysFor(version);
        openFpeTokens(k.scope, k.keys, indexes.map((i) => texts[i] as string)).forEach((value, j) => fpeValues.set(indexes[j] as number, value));
      }
    }
    const values: FieldValue[] = [];
    const usedRecords = new Set<string>();
    const usedSubjects = new Set<string>();
    const notFound: ErrorDetail[] = [];
    for (let index = 0; index < texts.length; index++) {
      const token = texts[index] as string;
      const list = found[index] as TokenRow[];
      const fpe = fpeValues.get(index);
      const value = fpe !== undefined ? { value: fpe, rows: list } : await this.resolve(field, token, list, parsed[index], recordValues, keysFor);
      if (value === undefined) {
        notFound.push({ index, reason: 'unknown_token' });
        continue;
      }
      values.push(value.value);
      const rowsOf = field.token === 'random' ? value.rows : (attributed[index] as TokenRow[]);
      for (const r of rowsOf) {
        if (r.recordId !== null) usedRecords.add(r.recordId);
        if (r.subjectId !== null) usedSubjects.add(r.subjectId);
      }
    }
    if (notFound.length > 0) throw new KurabanError('TOKEN_NOT_FOUND', undefined, { details: notFound.slice(0, 100) });
    return { values, records: [...usedRecords], subjects: [...usedSubjects] };
  }

  private async resolve(
    field: FieldDef,
    token: string,
    rows: readonly TokenRow[],
    parsed: ReturnType<typeof parseToken> | undefined,
    recordValues: ReadonlyMap<string, RecordValues>,
    keysFor: (version: number) => Promise<{ scope: TokenScope; keys: FieldTokenKeys }>,
  ): Promise<{ value: FieldValue; rows: readonly TokenRow[] } | undefined> {
    const first = rows[0];
    if (!first) return undefined;
    switch (field.token) {
      case 'deterministic': {
        const version = parsed?.ok ? parsed.version : undefined;
        if (version === undefined || !rows.some((r) => r.keyVersion === version)) return undefined;
        const k = await keysFor(version);
        const value = openDeterministicToken(k.scope, k.keys, token);
        return value === undefined ? undefined : { value, rows };
      }
      default: {
        for (const r of rows) {
          if (r.valueCt !== null) {
            const k = await keysFor(r.keyVersion);
            try {
              return { value: openTokenValue(k.scope, k.keys, r.tokenHash, r.valueCt), rows: [r] };
            } catch {
              continue;
            }
          }
          const v = r.recordId === null ? undefined : recordValues.get(r.recordId)?.[field.name];
          if (v !== undefined) return { value: v, rows: [r] };
        }
        return undefined;
      }
    }
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
    const lookup = keyObject(await this.deps.keyring.tokenLookupKey(ops, collection.tenantId, collection.id, field.name));
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
