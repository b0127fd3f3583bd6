import { KurabanError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import { openWithStore, type OpenOptions, type VaultLocation, type VaultState } from './open-vault.js';

/**
 * The server's vault over its lifetime: sealed or open, and the transitions between them. A sealed
 * vault holds no key (the key cache is zeroed, the provider closed) and touches no data; `unseal`
 * opens it with the passphrase or PIN, `seal` closes it (an operator's decision, or a token that
 * disappeared under a running server). Requests read `state` on every call.
 */
export class VaultHost {
  private current: VaultState;
  private transition: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly location: VaultLocation,
    private readonly options: OpenOptions & { readonly onOpen?: (state: VaultState & { sealed: false }) => void },
    initial: VaultState,
  ) {
    this.current = initial;
    if (!initial.sealed) options.onOpen?.(initial);
  }

  static async open(store: Store, location: VaultLocation, options: OpenOptions & { readonly onOpen?: (state: VaultState & { sealed: false }) => void } = {}): Promise<VaultHost> {
    return new VaultHost(location, options, await openWithStore(store, location, options));
  }

  get state(): VaultState {
    return this.current;
  }

  /**
   * Opens a sealed vault with the unseal secret (key file passphrase or token PIN; absent: as
   * configured). An open vault stays as it is. A wrong secret leaves it sealed: VAULT_SEALED with
   * the reason (never the secret).
   */
  async unseal(secret?: string): Promise<VaultState> {
    return this.serially(async () => {
      if (!this.current.sealed) return this.current;
      const next = await openWithStore(this.current.store, this.location, this.options, secret);
      if (next.sealed) {
        this.current = next;
        throw new KurabanError('VAULT_SEALED', `vault is sealed: ${next.reason}`);
      }
      this.current = next;
      this.options.onOpen?.(next);
      return next;
    });
  }

  /** Zeroes every unwrapped key, closes the provider and stops background work; data routes answer VAULT_SEALED. */
  async seal(reason: string): Promise<void> {
    await this.serially(async () => {
      const was = this.current;
      if (was.sealed) return;
      this.current = { sealed: true, reason, store: was.store };
      await was.vault.close();
    });
  }

  async close(): Promise<void> {
    await this.serially(async () => {
      if (!this.current.sealed) await this.current.vault.close();
      await this.current.store.close();
    });
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.transition.then(fn, fn);
    this.transition = run.catch(() => undefined);
    return run;
  }
}
