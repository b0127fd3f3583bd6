export { fpeLayout, wrongCheckDigit } from './fpe-layout.js';
export type { FpeLayout } from './fpe-layout.js';
export { deriveTokenKey, ff1Tweak } from './token-keys.js';
export type { TokenKeyUse } from './token-keys.js';
export {
  RANDOM_TOKEN_PREFIX, TOKEN_HASH_BYTES, TokenValueError, deterministicToken, fieldTokenKeys, fpeToken, fpeTokens, fpeValueProblem, keyObject, makeToken, makeTokens,
  openDeterministicToken, openFpeToken, openFpeTokens, openTokenValue, parseToken, randomToken, sealTokenValue, tokenHash,
} from './token-codec.js';
export type { FieldTokenKeys, ParsedToken, TokenScope } from './token-codec.js';
