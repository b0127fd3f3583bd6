import { TileError } from './tile-error.js';
import { TILE_WIDTH } from './tile-path.js';

/** tlog-tiles §Log entries: a full entry bundle holds 256 entries, like a level-0 tile. */
export const ENTRY_BUNDLE_WIDTH = TILE_WIDTH;
/** tlog-tiles §Log entries: entries are big-endian uint16 length-prefixed, so at most 65,535 bytes. */
export const MAX_ENTRY_BYTES = 0xffff;
/** Size of the length prefix (tlog-tiles §Log entries). */
export const ENTRY_LENGTH_PREFIX_BYTES = 2;

/** A bundle of 1…256 entries, each as uint16 big-endian length ‖ bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  if (entries.length === 0) throw new TileError('bundle_empty');
  if (entries.length > ENTRY_BUNDLE_WIDTH) throw new TileError('bundle_too_many_entries');
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(encodeBundleEntry(entry), Buffer.from(entry));
  }
  return Buffer.concat(parts);
}

/** The 2-byte length prefix of one entry; refuses entries longer than 65,535 bytes. */
export function encodeBundleEntry(entry: Uint8Array): Buffer {
  if (entry.length > MAX_ENTRY_BYTES) throw new TileError('entry_too_large');
  const prefix = Buffer.alloc(ENTRY_LENGTH_PREFIX_BYTES);
  prefix.writeUInt16BE(entry.length, 0);
  return prefix;
}

/**
 * Splits a bundle into its entries (copies). Strict: every length prefix complete, every entry complete,
 * no trailing byte, 1…256 entries; when `expectedWidth` is given (from the path or the tree size) the
 * bundle must hold exactly that many.
 */
export function decodeEntryBundle(bytes: Uint8Array, expectedWidth?: number): Buffer[] {
  if (bytes.length === 0) throw new TileError('bundle_empty');
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  while (at < view.length) {
    if (out.length === ENTRY_BUNDLE_WIDTH) throw new TileError('bundle_too_many_entries');
    if (at + ENTRY_LENGTH_PREFIX_BYTES > view.length) throw new TileError('bundle_truncated');
    const length = view.readUInt16BE(at);
    at += ENTRY_LENGTH_PREFIX_BYTES;
    if (at + length > view.length) throw new TileError('bundle_truncated');
    out.push(Buffer.from(view.subarray(at, at + length)));
    at += length;
  }
  if (expectedWidth !== undefined && out.length !== expectedWidth) throw new TileError('tile_width_mismatch');
  return out;
}
