/**
 * "Who can access this collection": a report computed from the policy engine itself — one row per
 * subject and purpose — so that it can never drift from what the engine enforces.
 */

import type { CollectionInfo, FieldAccess, PolicyEngine, PolicyPrincipal } from './policy-engine.js';

/** A principal to report on, e.g. label "role:clerk" or "key:abcd…". */
export interface WhoCanSubject {
  readonly label: string;
  readonly principal: PolicyPrincipal;
}

export type CollectionAction = 'create' | 'update' | 'delete' | 'export';

export interface WhoCanRow {
  readonly label: string;
  /** null: no purpose declared (then every non-public field is withheld). */
  readonly purpose: string | null;
  /** Per field, what `read` gives. */
  readonly fields: Readonly<Record<string, FieldAccess>>;
  /** Per field, what `search` gives ('clear' or 'withheld'). */
  readonly search: Readonly<Record<string, FieldAccess>>;
  readonly actions: Readonly<Record<CollectionAction, boolean>>;
  /** For each boolean field F of the collection: whether a record whose F is true is readable. */
  readonly rowConditions: Readonly<Record<string, boolean>>;
}

const COLLECTION_ACTIONS: readonly CollectionAction[] = ['create', 'update', 'delete', 'export'];

/** One row per subject × (no purpose, then each distinct non-empty purpose in the order given). */
export function whoCan(engine: PolicyEngine, collection: CollectionInfo, subjects: readonly WhoCanSubject[], purposes: readonly string[]): WhoCanRow[] {
  const purposeList: (string | null)[] = [null, ...new Set(purposes.filter((p) => p !== ''))];
  const flagFields = collection.fields.filter((f) => f.type === 'boolean').map((f) => f.name);
  const rows: WhoCanRow[] = [];
  for (const { label, principal } of subjects) {
    for (const purpose of purposeList) {
      const actions = Object.fromEntries(
        COLLECTION_ACTIONS.map((a) => [a, engine.isAllowed(principal, a, { collection: collection.name }, purpose)]),
      ) as Record<CollectionAction, boolean>;
      rows.push({
        label,
        purpose,
        fields: Object.fromEntries(engine.fieldAccess(principal, collection, 'read', purpose)),
        search: Object.fromEntries(engine.fieldAccess(principal, collection, 'search', purpose)),
        actions,
        rowConditions: Object.fromEntries(flagFields.map((f) => [f, engine.recordAllowed(principal, collection.name, [f], purpose)])),
      });
    }
  }
  return rows;
}

/** A synthetic principal holding just that role (kind 'service', id `role:<role>`), for reports. */
export function rolePrincipal(role: string, mfa = false): PolicyPrincipal {
  return { kind: 'service', id: `role:${role}`, roles: [role], duties: [], mfa };
}

/** A synthetic principal holding just that duty (kind 'service', id `duty:<duty>`), for reports. */
export function dutyPrincipal(duty: string, mfa = false): PolicyPrincipal {
  return { kind: 'service', id: `duty:${duty}`, roles: [], duties: [duty], mfa };
}
