/**
 * The Cedar schema of Kuraban's access policies (namespace `Kuraban`) and the actions a policy may name.
 *
 * Written in Cedar's human-readable schema format
 * (https://docs.cedarpolicy.com/schema/human-readable-schema.html). Every tenant's policy set is
 * validated against it in strict mode before it is accepted (policy-engine.ts), so a policy that
 * names an unknown action, attribute or entity type never reaches evaluation.
 *
 * Entities, as the engine builds them for each request:
 * - `Tenant::"<tenant id>"` — resource of manage-policy, manage-schema and manage-keys.
 * - `Log::"<tenant id>"` — the tenant's access log, resource of read-log.
 * - `Role::"clerk"`, `Duty::"tax-assessment"` — plain names: a policy set belongs to one tenant, so
 *   ids need no tenant prefix. Principals are members of them (`principal in Kuraban::Role::"clerk"`).
 * - `User`, `ServiceAccount`, `Operator` (the vault operator's admin key) — principals, `mfa` says
 *   whether the caller completed multi-factor authentication.
 * - `Collection::"<collection name>"`.
 * - `Field::"<collection>.<field>"` in its collection — resource of the per-field actions, with the
 *   field's name, collection, classification (public | personal | sensitive | my-number) and type.
 * - `Record::"<collection>#record"` in its collection — resource of read-record (row conditions);
 *   `flags` holds the names of the record's boolean fields that are true (e.g. "dv_support").
 *
 * Context, the same for every action: `purpose` (the declared purpose of use, "" when none was
 * declared), `hasPurpose` and `mfa`.
 */

export const POLICY_ACTIONS = [
  'read', 'read-masked', 'search', 'read-record', 'create', 'update', 'delete', 'export',
  'tokenize', 'detokenize', 'manage-policy', 'manage-schema', 'read-log', 'manage-keys',
] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** The Cedar namespace every entity type and action lives in. */
export const CEDAR_NAMESPACE = 'Kuraban';

/** The entity type each action applies to as its resource (mirrors the `appliesTo` clauses below). */
export const ACTION_RESOURCE_TYPE: Readonly<Record<PolicyAction, 'Field' | 'Record' | 'Collection' | 'Tenant' | 'Log'>> = {
  read: 'Field',
  'read-masked': 'Field',
  search: 'Field',
  tokenize: 'Field',
  detokenize: 'Field',
  'read-record': 'Record',
  create: 'Collection',
  update: 'Collection',
  delete: 'Collection',
  export: 'Collection',
  'manage-policy': 'Tenant',
  'manage-schema': 'Tenant',
  'manage-keys': 'Tenant',
  'read-log': 'Log',
};

export const CEDAR_SCHEMA = `// Kuraban access policies. Policies name entities and actions fully qualified, e.g.
// permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource)
//   when { context.purpose == "counter" && resource.classification == "personal" };
namespace Kuraban {
  entity Tenant;
  entity Log;
  entity Role, Duty;

  entity User in [Role, Duty] { mfa: Bool };
  entity ServiceAccount in [Role, Duty] { mfa: Bool };
  entity Operator in [Role, Duty] { mfa: Bool };

  entity Collection;
  // id "<collection>.<field>"; classification is one of public, personal, sensitive, my-number.
  entity Field in [Collection] { name: String, collection: String, classification: String, type: String };
  // flags: names of the record's boolean fields that are true, e.g. "dv_support".
  entity Record in [Collection] { flags: Set<String> };

  // purpose is "" when the caller declared none (then hasPurpose is false).
  type RequestContext = { purpose: String, hasPurpose: Bool, mfa: Bool };

  action "read", "read-masked", "search", "tokenize", "detokenize" appliesTo {
    principal: [User, ServiceAccount, Operator],
    resource: [Field],
    context: RequestContext
  };
  action "read-record" appliesTo {
    principal: [User, ServiceAccount, Operator],
    resource: [Record],
    context: RequestContext
  };
  action "create", "update", "delete", "export" appliesTo {
    principal: [User, ServiceAccount, Operator],
    resource: [Collection],
    context: RequestContext
  };
  action "manage-policy", "manage-schema", "manage-keys" appliesTo {
    principal: [User, ServiceAccount, Operator],
    resource: [Tenant],
    context: RequestContext
  };
  action "read-log" appliesTo {
    principal: [User, ServiceAccount, Operator],
    resource: [Log],
    context: RequestContext
  };
}
`;
