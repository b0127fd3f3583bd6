export { Keyring, wrappedKeyAad, wrappedKeyAadEncoder, isTombstone } from './keyring.js';
export type { KeyringOptions, DataKey, KeyStoreOps, StoredSubjectKeys } from './keyring.js';
export type { RootKeyProvider } from './root-key-provider.js';
export { createKeyFile, openKeyFileProvider, rootKeyId, keyFileProblemOf, KEY_FILE_FORMAT } from './key-file.js';
export type { CreateKeyFileOptions, KeyFileProblem } from './key-file.js';
export { KeyCache } from './key-cache.js';
export { openPkcs11Provider, createPkcs11RootKey, pkcs11ProblemOf } from './pkcs11-provider.js';
export type { Pkcs11Options, Pkcs11Problem } from './pkcs11-provider.js';
