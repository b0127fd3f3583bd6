import type { CollectionInfo } from '../policy/index.js';
import type { Collection } from './collections.js';

const views = new WeakMap<Collection, CollectionInfo>();

/**
 * A collection as policies see it (name; each field's name, classification and type). Frozen and
 * kept per collection object — `collections.get` returns the same object until the schema changes —
 * so the engine's cached decisions are found without rebuilding it per request.
 */
export function policyView(c: Collection): CollectionInfo {
  let view = views.get(c);
  if (!view) {
    view = Object.freeze({ name: c.name, fields: Object.freeze(c.schema.fields.map((f) => Object.freeze({ name: f.name, classification: f.classification, type: f.type }))) });
    views.set(c, view);
  }
  return view;
}
