import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { KurabanError } from '../errors/index.js';
import type { Principal } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { Vault, VaultState } from '../vault/index.js';
import type { Authenticator } from './auth.js';

/** What every route file receives: the vault (or why it is sealed) and the settings. */
export interface RouteContext {
  readonly config: Config;
  readonly state: () => VaultState;
  /** The open vault, or VAULT_SEALED. */
  readonly vault: () => Vault;
  readonly store: () => Store;
  /** Step one of every data route: who is calling. */
  readonly authenticate: (request: FastifyRequest) => Promise<{ vault: Vault; principal: Principal }>;
}

export function createRouteContext(config: Config, state: () => VaultState, authenticator: Authenticator): RouteContext {
  const vault = () => {
    const s = state();
    if (s.sealed) throw new KurabanError('VAULT_SEALED', `vault is sealed: ${s.reason}`);
    return s.vault;
  };
  return {
    config,
    state,
    vault,
    store: () => state().store,
    authenticate: async (request) => {
      const v = vault();
      return { vault: v, principal: await authenticator.authenticate(request, v) };
    },
  };
}
