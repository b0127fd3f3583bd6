/**
 * The one error thrown by signed notes, note keys and checkpoints (signed-note.ts, note-keys.ts,
 * checkpoint.ts). `reason` is stable and comes from a closed union; the message is fixed per reason and
 * never quotes the input, so hostile bytes never reach a log line.
 */
export const NOTE_ERROR_REASONS = {
  note_too_large: 'note is larger than the accepted maximum',
  invalid_utf8: 'note is not valid UTF-8',
  control_character: 'note contains a control character other than newline',
  malformed_note: 'note is malformed',
  malformed_signature_line: 'note signature line is malformed',
  too_many_signatures: 'note has too many signatures',
  invalid_key_name: 'key name is empty or contains a space, a plus sign or a control character',
  malformed_key: 'note key is malformed',
  unsupported_key_type: 'note key has an unsupported signature type',
  key_id_mismatch: 'note key ID does not match the key',
  ambiguous_key: 'two verifier keys share a name and key ID',
  signature_invalid: 'a signature from a trusted key does not verify',
  no_trusted_signature: 'note has no signature from a trusted key',
  malformed_checkpoint: 'checkpoint text is malformed',
  invalid_origin: 'checkpoint origin is empty',
  origin_mismatch: 'checkpoint origin is not the expected one',
  invalid_tree_size: 'checkpoint tree size is not a canonical decimal in range',
  invalid_root_hash: 'checkpoint root hash is not canonical base64 of 32 bytes',
  invalid_extension_line: 'checkpoint extension line is empty',
} as const;

export type NoteErrorReason = keyof typeof NOTE_ERROR_REASONS;

export class NoteError extends Error {
  override readonly name = 'NoteError';
  readonly reason: NoteErrorReason;

  constructor(reason: NoteErrorReason, options?: { cause?: unknown }) {
    super(NOTE_ERROR_REASONS[reason], options);
    this.reason = reason;
  }
}
