import type { Classification } from '../schema/index.js';
import type { Location } from './location.js';
import type { ResidencyRules, Violation } from './rules.js';

/** A location, or the id of one no longer registered (a past backup or export). */
export type PlaceRef = Location | { readonly id: string; readonly unregistered: true };

export interface CollectionPlace {
  readonly location: Location;
  /** The first rule this place fails, or null. */
  readonly violation: Violation | null;
}

export interface DataMapCollection {
  readonly name: string;
  readonly records: number;
  /** Per classification: the schema's fields of that class, and how many records carry them (every record of the collection). */
  readonly classifications: Readonly<Record<Classification, { readonly fields: readonly string[]; readonly records: number }>>;
  readonly rules: ResidencyRules;
  readonly ciphertext: CollectionPlace;
  readonly keys: CollectionPlace & { readonly providerKind: string };
  readonly exports: ReadonlyArray<{ readonly at: string; readonly location: PlaceRef; readonly records: number | null; readonly format: string }>;
}

export interface DataMap {
  readonly tenant: { readonly id: string; readonly name: string };
  readonly generatedAt: string;
  readonly store: Location;
  readonly keys: Location & { readonly providerKind: string };
  readonly collections: readonly DataMapCollection[];
  /** Records per classification over the tenant's collections (a record counts under each class its collection's schema holds). */
  readonly recordsByClassification: Readonly<Record<Classification, number>>;
  readonly lastBackup: { readonly at: string; readonly location: PlaceRef; readonly pair: string } | null;
  /** True when no collection's rule fails where its ciphertext and keys are. */
  readonly compliant: boolean;
}

