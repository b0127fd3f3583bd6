import { HASH_BYTES } from './rfc6962.js';
import { NoteError } from './note-error.js';
import { isWellFormed } from './note-keys.js';
import type { NoteSigner, NoteVerifier } from './note-keys.js';
import { openNote, signNote } from './signed-note.js';
import type { NoteSignature } from './signed-note.js';
import { MAX_TREE_SIZE } from './tile-path.js';
import { decodeCanonicalBase64, encodeBase64 } from './strict-base64.js';

/** The three mandatory lines of a checkpoint body plus any extension lines (c2sp.org/tlog-checkpoint). */
export interface Checkpoint {
  /** Line 1, the log identity; non-empty (tlog-checkpoint §Note text 1). */
  readonly origin: string;
  /** Line 2, the number of leaves (§Note text 2). */
  readonly size: number;
  /** Line 3, the RFC 6962 root hash at `size`, 32 bytes (§Note text 3). */
  readonly rootHash: Buffer;
  /** Lines 4…, opaque and non-empty; NOT RECOMMENDED (§Note text 4). */
  readonly extensions: readonly string[];
}

export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** Signatures from the trusted keys, each verified. */
  readonly verified: readonly NoteSignature[];
  /** Other signatures (cosignatures, rotated keys), ignored but kept for re-publication. */
  readonly unverified: readonly NoteSignature[];
}

// tlog-checkpoint §Note text 2: ASCII decimal with no leading zeros, `0` for the empty tree.
const TREE_SIZE = /^(?:0|[1-9][0-9]*)$/;
const FORBIDDEN_CONTROL = /[\u0000-\u001f]/;

/** The note text of a checkpoint: `origin\nsize\nbase64(root)\n` then one line per extension. */
export function formatCheckpoint(cp: Checkpoint): string {
  checkLine(cp.origin, 'invalid_origin');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new NoteError('invalid_tree_size');
  if (cp.rootHash.length !== HASH_BYTES) throw new NoteError('invalid_root_hash');
  for (const ext of cp.extensions) checkLine(ext, 'invalid_extension_line');
  return [cp.origin, String(cp.size), encodeBase64(cp.rootHash), ...cp.extensions].map((l) => `${l}\n`).join('');
}

/** Parses checkpoint note text (already separated from its signatures); strict about every line. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n') || !isWellFormed(text) || FORBIDDEN_CONTROL.test(text.replaceAll('\n', ''))) {
    throw new NoteError('malformed_checkpoint');
  }
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined) throw new NoteError('malformed_checkpoint');
  if (origin.length === 0) throw new NoteError('invalid_origin');
  if (!TREE_SIZE.test(sizeText)) throw new NoteError('invalid_tree_size');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size) || size > MAX_TREE_SIZE) throw new NoteError('invalid_tree_size');
  const rootHash = decodeCanonicalBase64(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_BYTES) throw new NoteError('invalid_root_hash');
  if (extensions.some((e) => e.length === 0)) throw new NoteError('invalid_extension_line');
  return Object.freeze({ origin, size, rootHash, extensions: Object.freeze(extensions) });
}

/**
 * The signed checkpoint: a signed note (c2sp.org/signed-note) over formatCheckpoint(cp). The log's key
 * name SHOULD equal the origin (tlog-checkpoint §Signatures) but is not required to.
 */
export function signCheckpoint(cp: Checkpoint, signers: NoteSigner | readonly NoteSigner[], others: readonly NoteSignature[] = []): Buffer {
  const list: readonly NoteSigner[] = isSignerList(signers) ? signers : [signers];
  return signNote(formatCheckpoint(cp), list, others);
}

/**
 * Verifies a signed checkpoint with the log's key(s) and checks its origin. The key name may differ from
 * the origin (as for Rekor v1, whose origin carries a tree ID); the origin check is what binds the
 * checkpoint to the log.
 */
export function openCheckpoint(
  input: Uint8Array | string,
  options: { readonly origin: string; readonly verifiers: NoteVerifier | readonly NoteVerifier[] },
): OpenedCheckpoint {
  const trusted: readonly NoteVerifier[] = isVerifierList(options.verifiers) ? options.verifiers : [options.verifiers];
  const note = openNote(input, trusted);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== options.origin) throw new NoteError('origin_mismatch');
  return Object.freeze({ checkpoint, verified: note.verified, unverified: note.unverified });
}

function checkLine(line: string, reason: 'invalid_origin' | 'invalid_extension_line'): void {
  if (line.length === 0 || line.includes('\n') || FORBIDDEN_CONTROL.test(line) || !isWellFormed(line)) throw new NoteError(reason);
}

function isSignerList(s: NoteSigner | readonly NoteSigner[]): s is readonly NoteSigner[] {
  return Array.isArray(s);
}

function isVerifierList(v: NoteVerifier | readonly NoteVerifier[]): v is readonly NoteVerifier[] {
  return Array.isArray(v);
}
