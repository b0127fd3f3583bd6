import { KurabanError } from '../errors/index.js';
import { isTombstone, type Keyring } from '../keys/index.js';
import type { Store } from '../store/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, type Audit } from './audit.js';
import { SUBJECT_ID_PATTERN } from './identifiers.js';
import type { LogReader } from './log-reader.js';

/**
 * What an erasure returns: what was destroyed, and the access-log entry that records it with its
 * RFC 6962 inclusion proof in a signed checkpoint — so the data subject (or an auditor) can check,
 * without trusting the server, that the erasure is in the tenant's append-only log.
 */
export interface ErasureReceipt {
  readonly tenant: string;
  readonly subject: string;
  readonly erasedAt: string;
  /** Subject data key versions destroyed (every version: no backup of data can be opened with them). */
  readonly keysDestroyed: number;
  /** Records removed from the live store (with their blind-index entries). */
  readonly recordsRemoved: number;
  /** Token registry rows removed: the person's tokens no longer resolve (docs/tokens.md). */
  readonly tokensRevoked: number;
  readonly log: {
    readonly origin: string;
    readonly verifierKey: string;
    /** Leaf index of the entry. */
    readonly index: number;
    /** The entry's bytes (base64): its RFC 6962 leaf hash is SHA-256(0x00 ‖ entry). */
    readonly entry: string;
    /** The signed checkpoint (C2SP signed note) the proof is against. */
    readonly checkpoint: string;
    readonly treeSize: number;
    /** RFC 6962 §2.1.1 inclusion proof, base64 hashes, leaf to root. */
    readonly inclusionProof: readonly string[];
  };
}

export interface ErasureDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly accessLog: AccessLog;
  readonly logReader: LogReader;
  readonly clock: () => Date;
}

/**
 * Crypto-shredding a person (APPI: "deleted" must hold for backups too). One transaction destroys
 * every version of the subject's data key, removes their records, blind-index entries and tokens, and
 * appends the `subject.erase` entry; then the log is integrated and the receipt built from the signed
 * tree. Data backups never contain clear keys and key backups are kept apart (docs/keys.md), so
 * records in a data backup taken before the erasure cannot be opened with the live key store.
 */
export class Erasure {
  constructor(private readonly deps: ErasureDeps) {}

  async erase(tenantId: string, subjectId: string, audit: Audit): Promise<ErasureReceipt> {
    if (!SUBJECT_ID_PATTERN.test(subjectId)) throw new KurabanError('REQUEST_INVALID', 'invalid subject id');
    const { store, keyring, accessLog } = this.deps;
    if (!(await store.getTenant(tenantId))) throw new KurabanError('TENANT_NOT_FOUND');
    const erasedAt = this.deps.clock();
    const done = await store.transaction(async (tx) => {
      const keys = await tx.listWrappedKeys({ tenantId, kind: 'subject', scopeId: subjectId });
      // Keys first: on PostgreSQL this waits for writers holding them (FOR SHARE), so their records are then seen and removed.
      await tx.deleteWrappedKeys(tenantId, 'subject', subjectId);
      const keysDestroyed = keys.filter((k) => !isTombstone(k)).length;
      const removed = await tx.deleteSubjectRecords(tenantId, subjectId);
      const tokensRevoked = await tx.deleteSubjectTokens(tenantId, subjectId);
      if (keysDestroyed === 0 && removed.length === 0 && tokensRevoked === 0) throw new KurabanError('SUBJECT_NOT_FOUND');
      // A tombstone above every destroyed version: the person's next key takes a new version number,
      // so a process still caching a destroyed key fails its write check instead of using it.
      const top = Math.max(0, ...keys.map((k) => k.version));
      const wrappedBy = Math.max(0, ...keys.map((k) => k.wrappedBy));
      await tx.insertWrappedKeys([{ tenantId, kind: 'subject', scopeId: subjectId, version: top + 1, wrapped: Buffer.alloc(0), createdAt: erasedAt.toISOString(), wrappedBy }], false);
      await accessLog.append(tx, ...auditEntries(audit, tenantId, 'subject.erase', { records: removed.map((r) => r.id), subjects: [subjectId], ...(tokensRevoked > 0 ? { count: tokensRevoked } : {}) }, 'ok', erasedAt));
      tx.onCommit(() => keyring.forget(tenantId, 'subject', subjectId, keys.map((k) => k.version)));
      return { keysDestroyed, recordsRemoved: removed.length, tokensRevoked };
    });
    await accessLog.integrate(tenantId);
    return { tenant: tenantId, subject: subjectId, erasedAt: erasedAt.toISOString(), ...done, log: await this.proofOf(tenantId, subjectId, audit.requestId) };
  }

  /** The (first) subject.erase entry of this request, with its inclusion proof in the newest checkpoint. */
  private async proofOf(tenantId: string, subjectId: string, requestId: string): Promise<ErasureReceipt['log']> {
    const reader = this.deps.logReader;
    let after: number | undefined;
    for (;;) {
      const page = await reader.entriesForSubject(tenantId, subjectId, after === undefined ? {} : { after });
      const hit = page.entries.find((e) => e.entry.action === 'subject.erase' && e.entry.requestId === requestId);
      if (hit) {
        const [row] = await this.deps.store.getLogEntryRange(tenantId, hit.index, hit.index + 1);
        if (!row || !page.head.checkpoint) break;
        return {
          origin: page.head.origin,
          verifierKey: page.head.verifierKey,
          index: hit.index,
          entry: row.entry.toString('base64'),
          checkpoint: page.head.checkpoint.toString('utf8'),
          treeSize: page.head.size,
          inclusionProof: hit.proof.map((h) => h.toString('base64')),
        };
      }
      if (page.next === undefined) break;
      after = page.next;
    }
    // Integration ran above, in this process: the entry must be in the tree.
    throw new KurabanError('INTERNAL', 'the erasure entry is not in the access log');
  }
}
