/**
 * Why a log did not verify: stable, closed. The message adds only what the verifier itself knows (paths,
 * indices, sizes, HTTP statuses) — never fetched bytes — so a hostile log cannot write into our output.
 */
export const VERIFY_ERROR_REASONS = {
  CHECKPOINT_MISSING: 'the log serves no checkpoint',
  CHECKPOINT_INVALID: 'the checkpoint is malformed',
  SIGNATURE_INVALID: 'the checkpoint has no valid signature by the key',
  ORIGIN_MISMATCH: 'the checkpoint origin is not the expected one',
  TILE_MISSING: 'a tile or entry bundle of the tree is missing',
  TILE_INVALID: 'a hash tile has the wrong length',
  TILE_MISMATCH: 'a served hash differs from the one recomputed from the entries',
  BUNDLE_INVALID: 'an entry bundle is malformed or has the wrong number of entries',
  ROOT_MISMATCH: 'the root recomputed from the entries differs from the checkpoint',
  SIZE_DECREASED: 'the log is smaller than at the previous verification',
  INCONSISTENT_WITH_STATE: 'the log is not an extension of the previously verified tree (fork)',
  STATE_INVALID: 'the previous state is malformed',
  FETCH_FAILED: 'the log could not be read',
  CHECKER_FAILED: 'a hashing process of the verifier failed, so the log was not judged',
} as const;

export type VerifyErrorReason = keyof typeof VERIFY_ERROR_REASONS;

export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  readonly reason: VerifyErrorReason;
  /** The first leaf index that is wrong, missing or not provably right, when the failure has one. */
  readonly firstBadIndex: number | undefined;
  /** What the message adds to the reason (paths, indices, sizes, statuses), kept so a hashing process can pass the error on. */
  readonly detail: string | undefined;

  constructor(reason: VerifyErrorReason, detail?: string, options: { firstBadIndex?: number; cause?: unknown } = {}) {
    super(`${VERIFY_ERROR_REASONS[reason]}${detail === undefined ? '' : ` (${detail})`}`, { cause: options.cause });
    this.reason = reason;
    this.firstBadIndex = options.firstBadIndex;
    this.detail = detail;
  }
}
