/** The demo municipality 架空市: its synthetic residents and the loader that writes them to a vault. */
export {
  DEMO_MAX_RESIDENTS, DEMO_NHI_INSURER_NUMBER, DEMO_REFERENCE_DATE, DEMO_TAX_YEAR, DEMO_TENANT, generateResidents,
} from './residents.js';
export type { DemoOptions, DemoPerson } from './residents.js';
export { DEMO_COLLECTIONS, DEMO_DEFAULT_RESIDENTS, loadDemo, municipalPolicy } from './load-demo.js';
export type { DemoLoadOptions, DemoLoadResult } from './load-demo.js';
