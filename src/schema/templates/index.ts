import { JUMINHYO } from './juminhyo.js';
import { KOJIN_JUMINZEI } from './kojin-juminzei.js';
import { KOKUHO } from './kokuho.js';

export { RELATIONSHIPS } from './juminhyo.js';

/**
 * Collection schema templates for municipal work (`kuraban collection create --template NAME`).
 * Each is a schema document as a user would write it; it goes through parseCollectionSchema like any other.
 */
export const SCHEMA_TEMPLATES = Object.freeze({
  juminhyo: { title: '住民基本台帳 (resident record)', schema: JUMINHYO },
  'kojin-juminzei': { title: '個人住民税 (individual inhabitant tax)', schema: KOJIN_JUMINZEI },
  kokuho: { title: '国民健康保険 (National Health Insurance)', schema: KOKUHO },
});
export type SchemaTemplateName = keyof typeof SCHEMA_TEMPLATES;
export const SCHEMA_TEMPLATE_NAMES = Object.keys(SCHEMA_TEMPLATES) as SchemaTemplateName[];
