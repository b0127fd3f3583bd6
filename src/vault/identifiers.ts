import { NAME_PATTERN } from '../schema/index.js';

/** Identifiers that appear in URLs and logs. None of them may be a personal value. */

/** A tenant id: a local-government code (e.g. 131016) or a short slug. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
/** A collection name: lower-case letters, digits, underscore. */
export const COLLECTION_NAME_PATTERN = NAME_PATTERN;
/**
 * A subject id: the vault's pseudonymous handle for a person (e.g. an internal person number), never
 * a My Number or a name. It is stored in clear so that a person's records and key can be found.
 */
export const SUBJECT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
