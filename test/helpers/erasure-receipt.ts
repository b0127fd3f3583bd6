import assert from 'node:assert/strict';
import { decodeLogEntry, leafHash, parseVerifierKey, verifyCheckpoint, verifyInclusion, type Checkpoint, type LogEntry } from '../../src/ledger/index.js';
import type { ErasureReceipt } from '../../src/vault/index.js';

/**
 * Checks an erasure receipt as the data subject (or an auditor) would, with nothing but the receipt
 * and the ledger's pure verifier functions: the checkpoint's signature against the receipt's
 * verifier key and origin, then the entry's RFC 6962 leaf hash with the inclusion proof against the
 * checkpoint's root. Returns the decoded entry and the checkpoint. Throws (ProofError / VerifyError /
 * assertion) if anything does not hold.
 */
export function verifyErasureReceipt(receipt: ErasureReceipt): { entry: LogEntry; checkpoint: Checkpoint; entryText: string } {
  const { log } = receipt;
  const verifier = parseVerifierKey(log.verifierKey);
  const checkpoint = verifyCheckpoint(Buffer.from(log.checkpoint, 'utf8'), verifier, log.origin);
  assert.equal(checkpoint.size, log.treeSize, 'the proof is against the tree the checkpoint signs');
  assert.ok(log.index < checkpoint.size, 'the entry is inside the signed tree');
  const entryBytes = Buffer.from(log.entry, 'base64');
  assert.equal(entryBytes.toString('base64'), log.entry, 'entry is canonical base64');
  const proof = log.inclusionProof.map((h) => Buffer.from(h, 'base64'));
  verifyInclusion(log.index, log.treeSize, leafHash(entryBytes), proof, checkpoint.rootHash);
  return { entry: decodeLogEntry(entryBytes), checkpoint, entryText: entryBytes.toString('utf8') };
}
