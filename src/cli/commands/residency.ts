import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { jstDayStart, renderAccessReportHtml, renderDataMapHtml, type DataMap, type Location } from '../../residency/index.js';
import type { LogAction } from '../../ledger/index.js';
import { auditEntries, localAudit } from '../../vault/index.js';
import { configFrom, readJsonFile, withVault, type CliIo, type GlobalOptions } from '../io.js';

interface LocationOptions {
  id?: string;
  country?: string;
  region?: string;
  provider?: string;
  operator?: string;
  jurisdiction?: string;
  holds?: string;
  description?: string;
}

function declaration(opts: LocationOptions, base: Partial<Location> = {}): Record<string, unknown> {
  return {
    ...base,
    ...(opts.id !== undefined ? { id: opts.id } : {}),
    ...(opts.country !== undefined ? { country: opts.country } : {}),
    ...(opts.region !== undefined ? { region: opts.region === '' || opts.region === 'none' ? null : opts.region } : {}),
    ...(opts.provider !== undefined ? { provider: opts.provider } : {}),
    ...(opts.operator !== undefined ? { operator: opts.operator } : {}),
    ...(opts.jurisdiction !== undefined ? { jurisdiction: opts.jurisdiction } : {}),
    ...(opts.holds !== undefined ? { holds: opts.holds.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  };
}

function locationOptions(cmd: Command): Command {
  return cmd
    .option('--country <code>', 'ISO 3166-1 alpha-2 country where it physically is, e.g. JP')
    .option('--region <region>', 'region, e.g. JP-Tokyo or JP-Osaka ("none": not declared)')
    .option('--provider <name>', 'who provides the infrastructure, e.g. self-hosted, aws, sakura')
    .option('--operator <name>', 'who operates it, e.g. the municipality or an integrator')
    .option('--jurisdiction <code>', 'the law that governs the operator (ISO 3166-1 alpha-2, or EU)')
    .option('--holds <list>', 'what it may hold, comma-separated: ciphertext, keys, plaintext')
    .option('--description <text>', 'a description for people');
}

/** One table row per location: the columns a person scans. */
function locationLine(l: Location): string {
  return [l.id, l.country, l.region ?? '-', l.provider, l.operator, l.jurisdiction, l.holds.join(',')].join('\t');
}

/** A period's bound: an ISO-8601 instant, or a JST calendar day (YYYY-MM-DD; `to` then includes that day). */
export function periodBound(v: string, name: 'from' | 'to'): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const start = jstDayStart(v);
    return name === 'from' ? start : new Date(start.getTime() + 86_400_000);
  }
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(t)) throw new KurabanError('REQUEST_INVALID', `--${name} must be YYYY-MM-DD (JST) or an ISO-8601 time`, { details: [{ field: name, reason: 'invalid_time' }] });
  return new Date(t);
}


function mapTable(map: DataMap): string {
  const lines: string[] = [];
  const where = (l: Location) => `${l.id} (${l.country}${l.region ? ` ${l.region}` : ''}; ${l.provider}; operator ${l.operator}, ${l.jurisdiction} law)`;
  lines.push(`Data map: tenant ${map.tenant.id} ${map.tenant.name} — ${map.compliant ? 'every rule holds' : 'RULE VIOLATED'}`);
  lines.push(`  ciphertext (store): ${where(map.store)}`);
  lines.push(`  keys (${map.keys.providerKind}):  ${where(map.keys)}`);
  lines.push(`  last backup: ${map.lastBackup ? `${map.lastBackup.at} → ${map.lastBackup.location.id}` : 'none recorded'}`);
  lines.push('');
  const rows = [['COLLECTION', 'RECORDS', 'CLASSES', 'CIPHERTEXT', 'KEYS', 'RULES', 'EXPORTS']];
  for (const c of map.collections) {
    const classes = Object.entries(c.classifications)
      .filter(([, v]) => v.fields.length > 0)
      .map(([k]) => k)
      .join(',');
    const rules = (['ciphertext', 'keys'] as const)
      .filter((k) => c.rules[k])
      .map((k) => `${k}:${Object.entries(c.rules[k] ?? {}).map(([n, v]) => `${n}=${(v as string[]).join('|')}`).join(';')}`)
      .join(' ');
    rows.push([
      c.name,
      String(c.records),
      classes || '-',
      `${c.ciphertext.location.id} ${c.ciphertext.violation ? `VIOLATES ${c.ciphertext.violation.rule}` : 'ok'}`,
      `${c.keys.location.id} ${c.keys.violation ? `VIOLATES ${c.keys.violation.rule}` : 'ok'}`,
      rules || '-',
      c.exports.length === 0 ? '-' : `${c.exports.length} (last → ${c.exports[0]?.location.id})`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  for (const r of rows) lines.push(`  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length))).join('  ')}`);
  return `${lines.join('\n')}\n`;
}

async function writeOut(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
    throw new KurabanError('REQUEST_INVALID', exists ? `${path} exists; reports never overwrite a file` : `cannot create ${path}`, { details: [{ reason: exists ? 'out_exists' : 'out_unwritable' }] });
  }
}

export function registerResidencyCommands(program: Command, io: CliIo): void {
  const config = () => configFrom(io, program.opts<GlobalOptions>());
  // The registry and the rules can be fixed even while the configured store or key location breaks a rule.
  const repair = { residencyRepair: true };

  const location = program.command('location').description('The registry of locations: where stores, backups, exports and key providers are (docs/residency.md)');
  locationOptions(location.command('add').description('Register a location (an entry in every tenant log)').argument('<id>', 'location id, e.g. tokyo-db, city-hsm')).action(
    async (id: string, opts: LocationOptions) => {
      await withVault(config(), async (vault) => {
        const l = await vault.residency.addLocation(declaration({ ...opts, id }), localAudit());
        io.stdout.write(`${JSON.stringify(l)}\n`);
      }, repair);
    },
  );
  locationOptions(location.command('update').description('Change what a location declares (the options given replace those values)').argument('<id>', 'location id')).action(
    async (id: string, opts: LocationOptions) => {
      await withVault(config(), async (vault) => {
        const current = await vault.residency.getLocation(id);
        const l = await vault.residency.updateLocation(id, declaration(opts, current), localAudit());
        io.stdout.write(`${JSON.stringify(l)}\n`);
      }, repair);
    },
  );
  location
    .command('list')
    .description('List registered locations, and where the store and key provider are configured')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }) => {
      await withVault(config(), async (vault) => {
        const list = await vault.residency.listLocations();
        const configured = await vault.residency.configured();
        if (opts.json) {
          for (const l of list) io.stdout.write(`${JSON.stringify({ ...l, store: configured.store.id === l.id, keys: configured.keys.id === l.id })}\n`);
          return;
        }
        io.stdout.write('ID\tCOUNTRY\tREGION\tPROVIDER\tOPERATOR\tLAW\tHOLDS\tUSED FOR\n');
        for (const l of list) {
          const used = [configured.store.id === l.id ? 'store' : '', configured.keys.id === l.id ? 'keys' : ''].filter(Boolean).join(',');
          io.stdout.write(`${locationLine(l)}\t${used || '-'}\n`);
        }
      }, repair);
    });
  location
    .command('remove')
    .description('Remove a location that nothing uses')
    .argument('<id>', 'location id')
    .action(async (id: string) => {
      await withVault(config(), async (vault) => {
        await vault.residency.removeLocation(id, localAudit());
        io.stdout.write(`${JSON.stringify({ removed: id })}\n`);
      }, repair);
    });

  const residency = program.command('residency').description("A collection's residency rules: where its ciphertext and its keys may be");
  residency
    .command('set')
    .description('Replace the rules (they must hold where the store and key provider are now): {"ciphertext": {"regions": ["JP-Tokyo","JP-Osaka"]}, "keys": {"locations": ["city-hsm"]}}')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .requiredOption('--rules <file>', 'JSON rules file')
    .action(async (opts: { tenant: string; collection: string; rules: string }) => {
      const rules = readJsonFile(opts.rules);
      await withVault(config(), async (vault) => {
        const set = await vault.residency.setRules(opts.tenant, opts.collection, rules, localAudit());
        io.stdout.write(`${JSON.stringify({ tenant: opts.tenant, collection: opts.collection, rules: set })}\n`);
      }, repair);
    });
  residency
    .command('show')
    .description("Print a collection's rules")
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .action(async (opts: { tenant: string; collection: string }) => {
      await withVault(config(), async (vault) => {
        const c = await vault.collections.get(opts.tenant, opts.collection);
        io.stdout.write(`${JSON.stringify({ tenant: opts.tenant, collection: c.name, rules: await vault.residency.rulesOf(c) })}\n`);
      }, repair);
    });

  program
    .command('map')
    .description("The tenant's data map: where each collection's ciphertext and keys are, who operates them, the rules, records by classification, the last backup and plaintext exports")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'the map as JSON')
    .option('--html <file>', 'also write a self-contained HTML report to this new file')
    .action(async (opts: { tenant: string; json?: boolean; html?: string }) => {
      await withVault(config(), async (vault) => {
        const map = await vault.residency.dataMap(opts.tenant);
        await vault.accessLog.record(...auditFor(opts.tenant, 'map.read', vault.clock()));
        if (opts.html !== undefined) await writeOut(opts.html, renderDataMapHtml(map));
        io.stdout.write(opts.json ? `${JSON.stringify(map, null, 2)}\n` : mapTable(map));
      }, repair);
    });

  // `kuraban access report`, beside `kuraban access who-can` (policy commands register `access` first).
  const access = program.commands.find((c) => c.name() === 'access') ?? program.command('access').description('Who can access what');
  access
    .command('report')
    .description('Access report for a collection and period: who can (policy) beside who did (log), night and holiday reads, My Number reads, per-subject reads with inclusion proofs')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .requiredOption('--from <time>', 'start: YYYY-MM-DD (JST day) or ISO-8601 time')
    .requiredOption('--to <time>', 'end: YYYY-MM-DD (JST day, included) or ISO-8601 time (excluded)')
    .option('--html <file>', 'write a self-contained HTML report to this new file')
    .option('--out <file>', 'write the JSON report to this new file instead of standard output')
    .action(async (opts: { tenant: string; collection: string; from: string; to: string; html?: string; out?: string }) => {
      const period = { from: periodBound(opts.from, 'from'), to: periodBound(opts.to, 'to') };
      await withVault(config(), async (vault) => {
        // Entries up to now are in the report: integrate what is pending first, so it has a checkpoint.
        await vault.accessLog.integrate(opts.tenant).catch(() => undefined);
        const report = await vault.reports.collectionReport(opts.tenant, opts.collection, period);
        await vault.accessLog.record(...auditFor(opts.tenant, 'report.read', vault.clock(), opts.collection));
        if (opts.html !== undefined) await writeOut(opts.html, renderAccessReportHtml(report));
        const json = `${JSON.stringify(report, null, 2)}\n`;
        if (opts.out !== undefined) await writeOut(opts.out, json);
        else io.stdout.write(json);
      });
    });
}

function auditFor(tenant: string, action: LogAction, now: Date, collection?: string) {
  return auditEntries(localAudit(), tenant, action, collection !== undefined ? { collection } : {}, 'ok', now);
}
