import { NoteError } from './note-error.js';
import { KEY_ID_BYTES, isValidKeyName, isWellFormed } from './note-keys.js';
import type { NoteSigner, NoteVerifier } from './note-keys.js';
import { decodeCanonicalBase64, encodeBase64 } from './strict-base64.js';

/** c2sp.org/signed-note §Format: each signature line starts with an em dash (U+2014) and a space. */
export const SIGNATURE_LINE_PREFIX = '\u2014 ';
/**
 * signed-note §Format: verifiers SHOULD cap the number of signatures and MUST accept at least 16. We cap at
 * 100, the limit of golang.org/x/mod/sumdb/note, so a note Go accepts is never refused here for its count.
 */
export const MAX_NOTE_SIGNATURES = 100;
/** Our own cap on a whole note (signed-note §Format allows capping the size): 1 MiB, far above any checkpoint. */
export const MAX_NOTE_BYTES = 1 << 20;

/** One signature line: key name, uint32 key ID and the signature bytes that follow the ID. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Buffer;
}

/** A note split into its text (ending in `\n`) and its signature lines, nothing verified. */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A note with at least one signature from a trusted key, every trusted key's signature checked. */
export interface VerifiedNote {
  readonly text: string;
  /** One entry per trusted key that signed (repeats of the same key's signature are dropped). */
  readonly verified: readonly NoteSignature[];
  /** Signatures from keys not in the trusted set (ignored, signed-note §Signatures), repeats dropped. */
  readonly unverified: readonly NoteSignature[];
}

// signed-note §Format: no ASCII control characters (below U+0020) other than newline.
const FORBIDDEN_CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Splits a signed note into text and signature lines (signed-note §Format). Checks the whole syntax —
 * UTF-8, control characters, the last empty line as separator, the final newline, every signature line,
 * key names, canonical base64 of at least 4 + 1 bytes, at most MAX_NOTE_SIGNATURES — but verifies nothing.
 */
export function parseNote(input: Uint8Array | string): Note {
  const s = decodeNote(input);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed_note');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw new NoteError('malformed_note');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw new NoteError('too_many_signatures');
  return Object.freeze({ text, signatures: Object.freeze(lines.map(parseSignatureLine)) });
}

/** The bytes of a note: text, one empty line, one `— name base64(keyID ‖ sig)` line per signature. */
export function formatNote(note: Note): Buffer {
  checkText(note.text);
  if (note.signatures.length === 0) throw new NoteError('malformed_note');
  if (note.signatures.length > MAX_NOTE_SIGNATURES) throw new NoteError('too_many_signatures');
  const lines = note.signatures.map(formatSignatureLine);
  const out = Buffer.from(`${note.text}\n${lines.join('')}`, 'utf8');
  if (out.length > MAX_NOTE_BYTES) throw new NoteError('note_too_large');
  return out;
}

/** Signs note text with one key: the signature line's parts. */
export function signNoteText(text: string, signer: NoteSigner): NoteSignature {
  checkText(text);
  const signature = signer.sign(Buffer.from(text, 'utf8'));
  return Object.freeze({ name: signer.name, keyId: signer.keyId, signature });
}

/**
 * A signed note over `text` with one signature per signer, after `others` (e.g. cosignatures kept from an
 * earlier note); an earlier signature by one of `signers` (same name and key ID) is replaced.
 */
export function signNote(text: string, signers: readonly NoteSigner[], others: readonly NoteSignature[] = []): Buffer {
  if (signers.length === 0) throw new NoteError('malformed_note');
  const fresh = signers.map((signer) => signNoteText(text, signer));
  const kept = others.filter((o) => !signers.some((s) => s.name === o.name && s.keyId === o.keyId));
  return formatNote({ text, signatures: [...kept, ...fresh] });
}

/**
 * Parses and verifies a note against trusted keys (signed-note §Signatures): signatures from unknown
 * (name, key ID) pairs are ignored; every signature from a trusted key must verify, or the whole note is
 * rejected; at least one must, or the note is rejected.
 */
export function openNote(input: Uint8Array | string, trusted: readonly NoteVerifier[]): VerifiedNote {
  const seenKeys = new Set<string>();
  for (const v of trusted) {
    const k = keyOf(v.name, v.keyId);
    if (seenKeys.has(k)) throw new NoteError('ambiguous_key');
    seenKeys.add(k);
  }
  const note = parseNote(input);
  const message = Buffer.from(note.text, 'utf8');
  const verified = new Map<string, NoteSignature>();
  const unverified = new Map<string, NoteSignature>();
  for (const sig of note.signatures) {
    const k = keyOf(sig.name, sig.keyId);
    const verifier = trusted.find((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (verifier === undefined) {
      const line = formatSignatureLine(sig);
      if (!unverified.has(line)) unverified.set(line, sig);
      continue;
    }
    // Unlike Go, every repeat from a trusted key is checked too: a bad one rejects the note.
    if (!verifier.verify(message, sig.signature)) throw new NoteError('signature_invalid');
    if (!verified.has(k)) verified.set(k, sig);
  }
  if (verified.size === 0) throw new NoteError('no_trusted_signature');
  return Object.freeze({
    text: note.text,
    verified: Object.freeze([...verified.values()]),
    unverified: Object.freeze([...unverified.values()]),
  });
}

function keyOf(name: string, keyId: number): string {
  return `${name}+${keyId}`;
}

function decodeNote(input: Uint8Array | string): string {
  let s: string;
  if (typeof input === 'string') {
    if (!isWellFormed(input)) throw new NoteError('invalid_utf8');
    if (Buffer.byteLength(input, 'utf8') > MAX_NOTE_BYTES) throw new NoteError('note_too_large');
    s = input;
  } else {
    if (input.byteLength > MAX_NOTE_BYTES) throw new NoteError('note_too_large');
    try {
      s = utf8.decode(input);
    } catch (cause) {
      throw new NoteError('invalid_utf8', { cause });
    }
  }
  if (FORBIDDEN_CONTROL.test(s)) throw new NoteError('control_character');
  return s;
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_LINE_PREFIX)) throw new NoteError('malformed_signature_line');
  const rest = line.slice(SIGNATURE_LINE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw new NoteError('malformed_signature_line');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw new NoteError('invalid_key_name');
  const raw = decodeCanonicalBase64(rest.slice(space + 1));
  // signed-note §Format: base64 of 4 + n bytes, the first four the big-endian key ID; n ≥ 1.
  if (raw === undefined || raw.length <= KEY_ID_BYTES) throw new NoteError('malformed_signature_line');
  return Object.freeze({ name, keyId: raw.readUInt32BE(0), signature: raw.subarray(KEY_ID_BYTES) });
}

function formatSignatureLine(sig: NoteSignature): string {
  if (!isValidKeyName(sig.name)) throw new NoteError('invalid_key_name');
  if (!Number.isInteger(sig.keyId) || sig.keyId < 0 || sig.keyId > 0xffffffff || sig.signature.length === 0) {
    throw new NoteError('malformed_signature_line');
  }
  const id = Buffer.alloc(KEY_ID_BYTES);
  id.writeUInt32BE(sig.keyId, 0);
  return `${SIGNATURE_LINE_PREFIX}${sig.name} ${encodeBase64(Buffer.concat([id, sig.signature]))}\n`;
}

/** Note text must be non-empty, end in newline, be well-formed and hold no forbidden control character. */
function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new NoteError('malformed_note');
  if (!isWellFormed(text)) throw new NoteError('invalid_utf8');
  if (FORBIDDEN_CONTROL.test(text)) throw new NoteError('control_character');
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) throw new NoteError('note_too_large');
}
