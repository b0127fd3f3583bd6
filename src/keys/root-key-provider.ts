/**
 * Where the root key lives. The vault only ever asks a provider to wrap or unwrap a tenant key; a
 * provider may keep its key in memory (key file), inside a token (PKCS#11) or in a cloud KMS —
 * the root key itself never has to leave it. `keyId` names the key so the vault can tell whether
 * the provider holds the key this store was created with.
 */
export interface RootKeyProvider {
  readonly kind: string;
  readonly keyId: string;
  /** False only for a key file holding the root key in clear (development). */
  readonly protected: boolean;
  wrap(key: Buffer, aad: Buffer): Promise<Buffer>;
  unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer>;
  /** Forgets key material held in memory. */
  close(): void;
}
