import { TileError } from './tile-error.js';

/** c2sp.org/tlog-tiles §Merkle Tree: a full tile holds 256 hashes (8,192 bytes), a subtree of height 8. */
export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;
/** tlog-tiles §Merkle Tree: `<L>` is a decimal integer between 0 and 63. */
export const MAX_TILE_LEVEL = 63;
/**
 * Largest tree size we accept: Number.MAX_SAFE_INTEGER. tlog-checkpoint §Note text and tlog-tiles allow any
 * uint64; sizes above 2^53 − 1 (nine quadrillion entries) cannot be reached by this log and are refused
 * rather than rounded, so every accepted size and index is an exact JavaScript number.
 */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;
/** Largest tile or bundle index we accept (see MAX_TREE_SIZE). */
export const MAX_TILE_INDEX = Number.MAX_SAFE_INTEGER;
/** tlog-tiles §Log entries: entry bundles live beside the hash tiles under this path element. */
export const ENTRIES_PATH_ELEMENT = 'entries';

/** A hash tile: `width` is 256 for a full tile, 1…255 for a partial one (tlog-tiles §Partial Tiles). */
export interface HashTileCoords {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** An entry bundle: same index and width rules as a level-0 tile (tlog-tiles §Log entries). */
export interface EntryBundleCoords {
  readonly index: number;
  readonly width: number;
}

export type ParsedTilePath =
  | ({ readonly kind: 'hash' } & HashTileCoords)
  | ({ readonly kind: 'entries' } & EntryBundleCoords);

/**
 * `<N>` of a tile path (tlog-tiles §Merkle Tree): zero-padded 3-digit groups, all but the last prefixed
 * with `x`; 1234067 → `x001/x234/067`.
 */
export function formatTileIndex(index: number): string {
  checkIndex(index);
  let n = index;
  let out = String(n % 1000).padStart(3, '0');
  n = Math.floor(n / 1000);
  while (n > 0) {
    out = `x${String(n % 1000).padStart(3, '0')}/${out}`;
    n = Math.floor(n / 1000);
  }
  return out;
}

/** `tile/<L>/<N>` for a full tile, `tile/<L>/<N>.p/<W>` for a partial one. */
export function formatHashTilePath(tile: HashTileCoords): string {
  checkLevel(tile.level);
  return `tile/${tile.level}/${formatTileIndex(tile.index)}${widthSuffix(tile.width)}`;
}

/** `tile/entries/<N>` for a full bundle, `tile/entries/<N>.p/<W>` for a partial one. */
export function formatEntryBundlePath(bundle: EntryBundleCoords): string {
  return `tile/${ENTRIES_PATH_ELEMENT}/${formatTileIndex(bundle.index)}${widthSuffix(bundle.width)}`;
}

const LEVEL = /^(?:0|[1-9][0-9]*)$/;
const WIDTH = /^(?:0|[1-9][0-9]*)$/;
const INNER_GROUP = /^x[0-9]{3}$/;
const LAST_GROUP = /^[0-9]{3}$/;

/**
 * Parses a path relative to the log prefix (`tile/…`, no leading slash). Accepts only the canonical form
 * that the format functions write: no leading zeros in L or W, no leading `x000` group, W in 1…255.
 */
export function parseTilePath(path: string): ParsedTilePath {
  const parts = path.split('/');
  if (parts.length < 3 || parts.length > 32 || parts[0] !== 'tile') throw new TileError('malformed_path');
  const levelPart = parts[1] as string;
  let groups = parts.slice(2);
  let width = TILE_WIDTH;
  const beforeLast = groups[groups.length - 2];
  if (beforeLast !== undefined && beforeLast.endsWith('.p')) {
    width = parseWidth(groups[groups.length - 1] as string);
    groups = [...groups.slice(0, -2), beforeLast.slice(0, -2)];
  }
  const index = parseGroups(groups);
  if (levelPart === ENTRIES_PATH_ELEMENT) return Object.freeze({ kind: 'entries', index, width });
  if (!LEVEL.test(levelPart) || levelPart.length > 2) {
    throw new TileError(/^[0-9]+$/.test(levelPart) && levelPart[0] !== '0' ? 'level_out_of_range' : 'malformed_path');
  }
  const level = Number(levelPart);
  checkLevel(level);
  return Object.freeze({ kind: 'hash', level, index, width });
}

function parseWidth(text: string): number {
  if (!WIDTH.test(text)) throw new TileError('malformed_path');
  if (text.length > 3) throw new TileError('width_out_of_range');
  const w = Number(text);
  if (w < 1 || w >= TILE_WIDTH) throw new TileError('width_out_of_range');
  return w;
}

function parseGroups(groups: readonly string[]): number {
  if (groups.length === 0) throw new TileError('malformed_path');
  let index = 0;
  groups.forEach((g, i) => {
    const last = i === groups.length - 1;
    if (!(last ? LAST_GROUP : INNER_GROUP).test(g)) throw new TileError('malformed_path');
    const n = Number(last ? g : g.slice(1));
    // A leading x000 would give a second spelling of the same index.
    if (i === 0 && !last && n === 0) throw new TileError('malformed_path');
    if (index > (MAX_TILE_INDEX - n) / 1000) throw new TileError('index_out_of_range');
    index = index * 1000 + n;
  });
  return index;
}

function widthSuffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new TileError('width_out_of_range');
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) throw new TileError('level_out_of_range');
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0) throw new TileError('index_out_of_range');
}
