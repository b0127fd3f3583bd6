export { fpeLayout, wrongCheckDigit } from './fpe-layout.js';
export type { FpeLayout } from './fpe-layout.js';
export { deriveTokenKey, ff1Tweak } from './token-keys.js';
export type { TokenKeyUse } from './token-keys.js';
export {
  DETERMINISTIC_TOKEN_PREFIX, RANDOM_TOKEN_PREFIX, TOKEN_HASH_BYTES, TokenValueError, deterministicToken, deterministicTokens, fieldTokenKeys, fpeToken, fpeTokens, fpeValueProblem, keyObject,
  makeTokens, openDeterministicToken, openDeterministicTokens, openFpeToken, openFpeTokens, openTokenValue, openTokenValues, parseToken, randomToken, sealTokenValue, sealTokenValues,
  tokenHashes, tokenLookupKeys, TOKEN_VALUE_FORMAT_SIV,
} from './token-codec.js';
export type { FieldTokenKeys, ParsedToken, TokenLookupKeys, TokenScope } from './token-codec.js';
