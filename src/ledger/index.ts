// The ledger's public surface: RFC 6962 hashing and proofs, C2SP signed notes, checkpoints and tiles.
// Pure functions over bytes; nothing here touches a database, the network or process.env.
export { RFC6962_LEAF_PREFIX, RFC6962_NODE_PREFIX, HASH_BYTES, EMPTY_ROOT, leafHash, leafHashInto, nodeHash, rootOfLeafHashes } from './rfc6962.js';
export { PROOF_ERROR_REASONS, ProofError, verifyInclusion, rootFromInclusionProof, inclusionProof, inclusionProofPlan } from './inclusion-proof.js';
export type { ProofErrorReason } from './inclusion-proof.js';
export { verifyConsistency, consistencyProof, consistencyProofPlan } from './consistency-proof.js';
export { MemoryTree, rootAt, rootNodes, proofFromPlan } from './node-source.js';
export type { NodeId, NodeSource, ProofPlan } from './node-source.js';
export { NOTE_ERROR_REASONS, NoteError } from './note-error.js';
export type { NoteErrorReason } from './note-error.js';
export {
  ED25519_SIGNATURE_TYPE,
  ED25519_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  KEY_ID_BYTES,
  SIGNER_KEY_PREFIX,
  isValidKeyName,
  noteKeyId,
  formatKeyId,
  formatVerifierKey,
  formatSignerKey,
  parseVerifierKey,
  parseSignerKey,
  verifierForSigner,
  noteSignerFromSeed,
  generateNoteKeyPair,
} from './note-keys.js';
export type { NoteVerifier, NoteSigner } from './note-keys.js';
export { SIGNATURE_LINE_PREFIX, MAX_NOTE_SIGNATURES, MAX_NOTE_BYTES, parseNote, formatNote, signNoteText, signNote, openNote } from './signed-note.js';
export type { Note, NoteSignature, VerifiedNote } from './signed-note.js';
export { formatCheckpoint, parseCheckpoint, signCheckpoint, openCheckpoint } from './checkpoint.js';
export type { Checkpoint, OpenedCheckpoint } from './checkpoint.js';
export { TILE_ERROR_REASONS, TileError } from './tile-error.js';
export type { TileErrorReason } from './tile-error.js';
export {
  TILE_WIDTH,
  TILE_HEIGHT,
  MAX_TILE_LEVEL,
  MAX_TREE_SIZE,
  MAX_TILE_INDEX,
  ENTRIES_PATH_ELEMENT,
  formatTileIndex,
  formatHashTilePath,
  formatEntryBundlePath,
  parseTilePath,
} from './tile-path.js';
export type { HashTileCoords, EntryBundleCoords, ParsedTilePath } from './tile-path.js';
export {
  FULL_TILE_BYTES,
  tileLevelHashCount,
  partialTileWidth,
  tilesOfTree,
  tilesChangedByGrowth,
  tileLevelHashes,
  computeHashTile,
  encodeHashTile,
  decodeHashTile,
} from './hash-tile.js';
export { ENTRY_BUNDLE_WIDTH, MAX_ENTRY_BYTES, ENTRY_LENGTH_PREFIX_BYTES, encodeEntryBundle, encodeBundleEntry, decodeEntryBundle } from './entry-bundle.js';
export { canonicalJson, canonicalJsonBytes, isCanonicalJson, CanonicalJsonError, MAX_CANONICAL_DEPTH } from './canonical-json.js';
export type { JsonValue } from './canonical-json.js';
export { LOG_ENTRY_VERSION, LOG_ACTIONS, LOG_AUTH_METHODS, LogEntryError, encodeLogEntry, decodeLogEntry, checkLogEntry, logEntrySubjects } from './log-entry.js';
export type { LogEntry, LogPrincipal, LogAction, LogAuthMethod, LogOutcome } from './log-entry.js';
export { rightEdgeTiles, appendToTiles, appendPackedToTiles } from './tile-append.js';
export type { HashTileBytes, TileGrowth } from './tile-append.js';
export { TILE_SOURCE_ERROR_REASONS, TileSourceError, isLogPath } from './tile-source.js';
export type { TileSource, TileSourceErrorReason, TileSourceLocation } from './tile-source.js';
export { directoryTileSource, httpTileSource, tileSourceAt, parseLogPrefix, LogUrlError } from './tile-sources.js';
export type { HttpTileSourceOptions } from './tile-sources.js';
export { VERIFY_ERROR_REASONS, VerifyError, verifyCheckpoint, verifyLog, WORKER_MIN_BUNDLES, READER_MIN_BUNDLES } from './verifier.js';
export { defaultHashThreads } from './bundle-hasher.js';
export type { VerifyErrorReason, PreviousTree, VerifyLogOptions, VerifiedLog } from './verifier.js';
