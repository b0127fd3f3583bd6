/**
 * The one error thrown by tile paths, hash tiles and entry bundles (tile-path.ts, hash-tile.ts,
 * entry-bundle.ts). `reason` is stable and comes from a closed union; the message is fixed per reason.
 */
export const TILE_ERROR_REASONS = {
  malformed_path: 'tile path is malformed or not canonical',
  level_out_of_range: 'tile level is out of range',
  index_out_of_range: 'tile index is out of range',
  width_out_of_range: 'tile width is out of range',
  tree_size_out_of_range: 'tree size is out of range',
  hash_length_invalid: 'a hash is not 32 bytes long',
  tile_length_invalid: 'hash tile length is not a positive multiple of 32 bytes up to 256 hashes',
  tile_width_mismatch: 'tile or bundle does not have the expected width',
  tile_not_in_tree: 'tile is not part of a tree of this size',
  entry_too_large: 'entry is longer than 65535 bytes',
  bundle_empty: 'entry bundle is empty',
  bundle_too_many_entries: 'entry bundle has more than 256 entries',
  bundle_truncated: 'entry bundle is truncated',
} as const;

export type TileErrorReason = keyof typeof TILE_ERROR_REASONS;

export class TileError extends Error {
  override readonly name = 'TileError';
  readonly reason: TileErrorReason;

  constructor(reason: TileErrorReason, options?: { cause?: unknown }) {
    super(TILE_ERROR_REASONS[reason], options);
    this.reason = reason;
  }
}
