/**
 * The data map and the access report as a person sees them: each HTML file rendered by a real
 * Chromium from disk (file://, no server: an auditor opens it without the vault), with every
 * network request refused and counted — a self-contained report makes none. Screenshots go to
 * KURABAN_SCREENSHOT_DIR when it is set (to look at them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { renderAccessReportHtml, renderDataMapHtml } from '../../src/residency/index.js';
import { localAudit } from '../../src/vault/index.js';
import type { LogEntry as LedgerEntry } from '../../src/ledger/index.js';
import { launchChromium } from '../helpers/browser.js';
import { createTempVault, type TempVault } from '../helpers/temp-vault.js';


const T = '131016';
const SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true },
    { name: 'my_number', type: 'string', classification: 'my-number' },
    { name: 'income', type: 'decimal', classification: 'sensitive' },
  ],
};

describe('data map and access report in Chromium', () => {
  let tv: TempVault;
  let browser: Browser;
  let dir: string;
  let clerkId: string;

  before(async () => {
    browser = await launchChromium();
    dir = mkdtempSync(join(tmpdir(), 'kuraban-reports-'));
    tv = await createTempVault('sqlite');
    const v = tv.vault;
    const audit = localAudit();
    await v.tenants.create(T, '千代田区', audit);
    await v.residency.addLocation({ id: 'osaka-backup', country: 'JP', region: 'JP-Osaka', provider: 'sakura', operator: 'chiyoda-city', jurisdiction: 'JP', holds: ['ciphertext'] }, audit);
    await v.residency.createCollection(T, 'juminhyo', SCHEMA, { ciphertext: { countries: ['JP'] } }, audit);
    await v.collections.create(T, 'kokuho', { fields: [{ name: 'insured_no', type: 'string' }] }, audit);
    for (let i = 0; i < 3; i++) await v.records.create(T, 'juminhyo', { subjectId: `S-${i}`, fields: { family_name: `山田${i}`, my_number: '123456789018' } }, audit);
    await v.backup({ dataDir: join(dir, 'bk', 'data'), keysDir: join(dir, 'bk', 'keys'), location: 'osaka-backup' }, audit);
    clerkId = (await v.issueApiKey({ name: 'clerk', role: 'tenant', tenantId: T, roles: ['clerk'] })).id;
    const e = (time: string, over: Partial<LedgerEntry>): LedgerEntry => ({
      v: 1, time, tenant: T, principal: { id: clerkId, auth: 'api-key' }, action: 'record.read', collection: 'juminhyo',
      records: ['0190abcd-ef00-7000-8000-000000000001'], subjects: ['S-1'], fields: ['family_name'], purpose: 'counter', outcome: 'ok', requestId: `r-${time}`, client: null, ...over,
    });
    await v.accessLog.record(
      e('2025-12-03T01:00:00.000Z', {}),
      e('2025-12-03T14:30:00.000Z', { fields: ['family_name', 'my_number'] }),
      e('2025-11-03T02:00:00.000Z', { subjects: ['S-2'], records: ['0190abcd-ef00-7000-8000-000000000002'] }),
    );
    await v.accessLog.integrate(T);
  });
  after(async () => {
    await browser?.close();
    await tv?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a file with every network request refused and counted. */
  async function open(file: string): Promise<{ page: Page; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url === pathToFileURL(file).href) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href);
    return { page, requests };
  }

  async function shoot(page: Page, name: string): Promise<void> {
    const out = process.env.KURABAN_SCREENSHOT_DIR;
    if (!out) return;
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, name), fullPage: true });
  }

  test('the data map shows where each collection lives, its rules, counts, and the last backup', async () => {
    const file = join(dir, 'map.html');
    writeFileSync(file, renderDataMapHtml(await tv.vault.residency.dataMap(T)));
    const { page, requests } = await open(file);
    try {
      assert.equal(await page.locator('h1').innerText(), 'Data map — 千代田区 (131016)');
      const juminhyo = page.locator('tr', { has: page.locator('th', { hasText: 'juminhyo' }) });
      assert.equal(await juminhyo.locator('td').nth(0).innerText(), '3');
      assert.match(await juminhyo.locator('td').nth(1).innerText(), /my-number: 3 records/);
      assert.match(await juminhyo.locator('td').nth(4).innerText(), /countries ∈ \{JP\}/);
      assert.match(await page.locator('text=Last backup').locator('xpath=following-sibling::p[1]').innerText(), /osaka-backup: JP \/ JP-Osaka, provider sakura/);
      assert.equal(await page.locator('.badge.ok', { hasText: 'every rule holds' }).count(), 1);
      assert.equal(await page.locator('.badge.warn', { hasText: 'default: not declared' }).count(), 2, 'the default laptop location is flagged for store and keys');
      assert.deepEqual(requests, [], 'no network request');
      await shoot(page, 'data-map.png');
    } finally {
      await page.close();
    }
  });

  test('the access report shows who can beside who did, flags, and per-subject reads with proofs', async () => {
    const file = join(dir, 'report.html');
    const report = await tv.vault.reports.collectionReport(T, 'juminhyo', { from: new Date('2025-11-01T00:00:00Z'), to: new Date('2025-12-31T00:00:00Z') });
    writeFileSync(file, renderAccessReportHtml(report));
    const { page, requests } = await open(file);
    try {
      assert.match(await page.locator('h1').innerText(), /Access report — juminhyo — 千代田区/);
      const card = (label: string) => page.locator('.card', { hasText: label }).locator('b').innerText();
      assert.equal(await card('records read'), '2');
      assert.equal(await card('night reads'), '1');
      assert.equal(await card('holiday reads'), '1');
      assert.equal(await card('My Number reads'), '1 (1)');
      const did = page.locator('h2:has-text("Who did") + table tbody tr', { has: page.locator('th code', { hasText: clerkId }) });
      assert.match(await did.innerText(), /clerk\s+counter \(3\)\s+3\s+2\s+2/);
      assert.equal(await page.locator('h2', { hasText: 'Who can' }).count(), 1);
      assert.ok((await page.locator('td.clear, td.masked, td.withheld').count()) > 0, 'field access cells are rendered');
      const flagged = page.locator('h2:has-text("Night and holiday") + p + table tbody tr');
      assert.equal(await flagged.count(), 2);
      assert.match(await flagged.nth(0).innerText(), /holiday:文化の日/);
      assert.match(await flagged.nth(1).innerText(), /night, My Number/);
      // Per subject: closed by default, opens on a click (no script needed), shows the proof.
      const s1 = page.locator('details', { has: page.locator('summary', { hasText: 'S-1' }) });
      assert.match(await s1.locator('summary').innerText(), /read 2 times/);
      await s1.locator('summary').click();
      assert.ok(await s1.locator('table').isVisible());
      assert.match(await s1.locator('td').last().innerText(), /^[0-9a-f]{64}/);
      assert.match(await page.locator('pre').innerText(), /^kuraban\.local\/kuraban\/131016\n\d+\n/);
      assert.deepEqual(requests, [], 'no network request');
      await shoot(page, 'access-report.png');
    } finally {
      await page.close();
    }
  });
});
