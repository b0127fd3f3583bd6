import type { BundleCheck } from './tile-hasher.js';
import type { TileSourceLocation } from './tile-source.js';
import { VERIFY_ERROR_REASONS, VerifyError, type VerifyErrorReason } from './verify-error.js';

/** The messages between the verifier's bundle checkers (bundle-checkers.ts) and each checker (bundle-check-agent.ts). */

/** One bundle to check: its index, its width in the tree, and whether its level-0 tile must come back. */
export interface BundleJobItem {
  readonly index: number;
  readonly width: number;
  readonly wantTile: boolean;
}

/** What a checker is sent: first the location to open, then batches of bundles. */
export type BundleCheckerRequest =
  | { readonly type: 'open'; readonly location: TileSourceLocation }
  | { readonly type: 'check'; readonly id: number; readonly bundles: readonly BundleJobItem[] };

/** A checked bundle as it comes back: the `entries` it had to hold, and its tile when asked for. */
export interface RemoteCheckedBundle {
  readonly entries: number;
  readonly result: BundleCheck;
  readonly tile?: Uint8Array;
}

/**
 * A VerifyError (or another failure) as data: VerifyErrors keep their reason, detail and first bad index;
 * anything else only its name (messages of unexpected errors are not passed on).
 */
export interface RemoteError {
  readonly reason?: VerifyErrorReason;
  readonly detail?: string;
  readonly firstBadIndex?: number;
  readonly name: string;
}

/**
 * What a checker sends: `ready` once it has loaded and opened the location; per batch, the bundles
 * checked in order, stopping after the first that did not check; `error`: a read failed at bundle
 * `checked.length` of the batch (what came before it was checked).
 */
export type BundleCheckerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'checked'; readonly id: number; readonly checked: readonly RemoteCheckedBundle[]; readonly error?: RemoteError };

export type CheckedReply = Extract<BundleCheckerReply, { type: 'checked' }>;

export function toRemoteError(e: unknown): RemoteError {
  if (e instanceof VerifyError) {
    return { name: e.name, reason: e.reason, ...(e.detail === undefined ? {} : { detail: e.detail }), ...(e.firstBadIndex === undefined ? {} : { firstBadIndex: e.firstBadIndex }) };
  }
  return { name: e instanceof Error ? e.name : typeof e };
}

export function fromRemoteError(e: RemoteError): Error {
  if (e.reason !== undefined && Object.hasOwn(VERIFY_ERROR_REASONS, e.reason)) {
    return new VerifyError(e.reason, e.detail, e.firstBadIndex === undefined ? {} : { firstBadIndex: e.firstBadIndex });
  }
  return new VerifyError('CHECKER_FAILED', `it failed with ${/^[A-Za-z]{1,40}$/.test(e.name) ? e.name : 'an error'}`);
}
