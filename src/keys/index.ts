export { Keyring, wrappedKeyAad } from './keyring.js';
export type { KeyringOptions, DataKey, KeyStoreOps } from './keyring.js';
export type { RootKeyProvider } from './root-key-provider.js';
export { createKeyFile, openKeyFileProvider, rootKeyId, keyFileProblemOf, KEY_FILE_FORMAT } from './key-file.js';
export type { CreateKeyFileOptions, KeyFileProblem } from './key-file.js';
export { KeyCache } from './key-cache.js';
