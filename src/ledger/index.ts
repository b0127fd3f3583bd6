// The ledger's public surface: RFC 6962 hashing and proofs, C2SP signed notes, checkpoints and tiles.
// Pure functions over bytes; nothing here touches a database, the network or process.env.
export { RFC6962_LEAF_PREFIX, RFC6962_NODE_PREFIX, HASH_BYTES, EMPTY_ROOT, leafHash, nodeHash, rootOfLeafHashes } from './rfc6962.js';
// merkle proofs (inclusion-proof.ts, consistency-proof.ts)
// signed notes, checkpoints, tiles (signed-note.ts, verifier-key.ts, checkpoint.ts, tile-path.ts, hash-tile.ts, entry-bundle.ts)
