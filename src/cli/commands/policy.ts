import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { parsePolicyCases, PolicyEngine, roleSubjects, runPolicyCases, whoCan } from '../../policy/index.js';
import { checkPolicyInput, localAudit, policyView } from '../../vault/index.js';
import { configFrom, readJsonFile, withVault, type CliIo, type GlobalOptions } from '../io.js';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new KurabanError('REQUEST_INVALID', `cannot read ${path}`);
  }
}

const purposeList = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

export function registerPolicyCommands(program: Command, io: CliIo): void {
  const policy = program.command('policy').description("Manage a tenant's Cedar policies and purposes of use (docs/policies.md)");
  policy
    .command('push')
    .description('Validate a Cedar policy file against the Kuraban schema and make it the active version (a log entry); if it fails, the active version stays')
    .argument('<file>', 'Cedar policy file (.cedar)')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--purposes <list>', 'comma-separated purposes of use (default: keep the current list)')
    .action(async (file: string, opts: { tenant: string; purposes?: string }) => {
      const text = readText(file);
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        await vault.tenants.require(opts.tenant);
        const row = await vault.policies.push(opts.tenant, text, opts.purposes === undefined ? undefined : purposeList(opts.purposes), localAudit());
        io.stdout.write(`${JSON.stringify({ tenant: opts.tenant, version: row.version, purposes: row.purposes })}\n`);
      });
    });
  policy
    .command('show')
    .description("Print the tenant's active policy version, purposes and text")
    .requiredOption('--tenant <id>', 'tenant id')
    .action(async (opts: { tenant: string }) => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        await vault.tenants.require(opts.tenant);
        const { row } = await vault.policies.active(opts.tenant);
        io.stdout.write(`${JSON.stringify({ tenant: opts.tenant, version: row.version, purposes: row.purposes, createdAt: row.createdAt, createdBy: row.createdBy })}\n${row.text.endsWith('\n') ? row.text : `${row.text}\n`}`);
      });
    });
  policy
    .command('test')
    .description("Check a policy file before pushing it: validate it, then evaluate expectations (a JSON array of cases) against the tenant's collections")
    .argument('<file>', 'Cedar policy file')
    .requiredOption('--tenant <id>', 'tenant id (its collections give the fields)')
    .requiredOption('--cases <file>', 'JSON cases: [{"principal":{"roles":["clerk"]},"action":"read","collection":"juminhyo","field":"my_number","purpose":"counter","expect":"masked"}, ...]')
    .action(async (file: string, opts: { tenant: string; cases: string }) => {
      const { text } = checkPolicyInput(readText(file), undefined);
      const engine = new PolicyEngine({ tenantId: opts.tenant, version: 0, text }); // validates: POLICY_INVALID
      const cases = parsePolicyCases(readJsonFile(opts.cases));
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        await vault.tenants.require(opts.tenant);
        const results = runPolicyCases(engine, new Map((await vault.collections.list(opts.tenant)).map((c) => [c.name, policyView(c)])), cases);
        for (const r of results) io.stdout.write(`${r.pass ? 'ok  ' : 'FAIL'} ${r.index + 1} ${r.name}: expected ${r.expected}, got ${r.actual}\n`);
        const failed = results.filter((r) => !r.pass).length;
        io.stdout.write(`${JSON.stringify({ cases: results.length, passed: results.length - failed, failed })}\n`);
        if (failed > 0) throw new KurabanError('POLICY_INVALID', `${failed} of ${results.length} policy cases failed`, { details: [{ reason: 'cases_failed' }] });
      });
    });

  program
    .command('access')
    .description('Who can access what')
    .command('who-can')
    .description("For each role the active policy names, each field's effective access (clear / masked / withheld) per purpose, computed from the policy")
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .action(async (opts: { tenant: string; collection: string }) => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const active = await vault.policies.active(opts.tenant);
        const c = await vault.collections.get(opts.tenant, opts.collection);
        const rows = whoCan(active.engine, policyView(c), roleSubjects(active.row.text), [...active.row.purposes]);
        io.stdout.write(`${JSON.stringify({ tenant: opts.tenant, collection: c.name, policyVersion: active.row.version })}\n`);
        for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
      });
    });
}
