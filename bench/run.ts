/**
 * npm run bench [-- --scenario NAME] [--records N] [--pg-records N]
 * Runs scenarios, prints a table with ratios to baselines measured in the same run, and writes
 * bench/results/<scenario>-<time>.json with the machine. Not a test: nothing here asserts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './machine.js';
import { ingestScenario } from './scenarios/ingest.js';
import { keysScenario } from './scenarios/keys.js';
import { logScenario } from './scenarios/log.js';
import { policyScenario } from './scenarios/policy.js';
import { readScenario } from './scenarios/read.js';
import { searchScalingScenario } from './scenarios/search-scaling.js';
import { tokensScenario } from './scenarios/tokens.js';
import type { ScenarioOptions, ScenarioResult } from './types.js';

const SCENARIOS: Record<string, ((o: ScenarioOptions) => Promise<ScenarioResult>) | string> = {
  ingest: ingestScenario,
  read: readScenario,
  log: logScenario,
  policy: policyScenario,
  'search-scaling': searchScalingScenario,
  keys: keysScenario,
  tokens: tokensScenario,
};

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    records: { type: 'string', default: '1000000' },
    'pg-records': { type: 'string' },
  },
});
const records = Number(values.records);
if (!Number.isSafeInteger(records) || records < 1) throw new Error('--records must be a positive integer');
const pgRecords = values['pg-records'] ? Number(values['pg-records']) : Math.max(1, Math.floor(records / 4));
const wanted = values.scenario ? [values.scenario] : Object.keys(SCENARIOS);
// Scenario defaults differ: ingest writes 1,000,000 records; log verifies 1,000,000 entries and proves on 10,000,000;
// policy reads among min(--records, 5,000) residents; read serves min(--records, 20,000) residents; search-scaling
// searches at 10,000 and at --records.
const machine = machineInfo();
console.log(`Kuraban benchmark — ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);

const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
for (const name of wanted) {
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  if (typeof scenario === 'string') {
    console.log(`\n${name}: ${scenario}`);
    continue;
  }
  console.log(`\n${name}:`);
  const result = await scenario({ records, pgRecords, log: (l) => console.log(l) });
  console.log('');
  console.table(
    result.figures.map((f) => ({
      measurement: f.name,
      records: f.records,
      seconds: Number(f.seconds.toFixed(2)),
      'records/s': Math.round(f.perSecond),
      'peak RSS MB': f.peakRssMB === undefined ? '' : Math.round(f.peakRssMB),
    })),
  );
  console.table(result.ratios.map((r) => ({ ratio: r.name, value: Number(r.value.toFixed(2)), target: r.target ?? '' })));
  for (const t of result.targets) console.log(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.name}`);
  for (const n of result.notes) console.log(`note: ${n}`);
  const file = `${resultsDir}${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify({ machine, command: `npm run bench -- --scenario ${name} --records ${records}`, ...result }, null, 2)}\n`);
  console.log(`results: ${file}`);
}
