import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KurabanError } from '../../src/errors/index.js';
import { checkPlace, closedDay, isNight, parseLocation, parseResidencyRules, violationError, type Location } from '../../src/residency/index.js';

const tokyo: Location = parseLocation({ id: 'tokyo-db', country: 'JP', region: 'JP-Tokyo', provider: 'self-hosted', operator: 'chiyoda-city', jurisdiction: 'JP', holds: ['ciphertext'] });
const hsm: Location = parseLocation({ id: 'city-hsm', country: 'JP', region: 'JP-Tokyo', provider: 'on-prem-hsm', operator: 'chiyoda-city', jurisdiction: 'JP', holds: ['keys'] });
const usCloudInTokyo: Location = parseLocation({ id: 'aws-tokyo', country: 'JP', region: 'JP-Tokyo', provider: 'aws', operator: 'vendor', jurisdiction: 'US', holds: ['ciphertext', 'plaintext'] });
const virginia: Location = parseLocation({ id: 'us-east', country: 'US', region: 'US-Virginia', provider: 'aws', operator: 'vendor', jurisdiction: 'US', holds: ['ciphertext'] });
const noRegion: Location = parseLocation({ id: 'laptop', country: 'JP', provider: 'self-hosted', operator: 'self', jurisdiction: 'JP', holds: ['ciphertext', 'keys'] });

const TOKYO_OSAKA_OWN_HSM = parseResidencyRules({ ciphertext: { countries: ['JP'], regions: ['JP-Tokyo', 'JP-Osaka'], jurisdictions: ['JP'] }, keys: { locations: ['city-hsm'] } });

function invalid(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof KurabanError && e.code === 'REQUEST_INVALID' && e.details.some((d) => d.field === field), `expected REQUEST_INVALID on ${field}`);
}

describe('locations', () => {
  test('a declaration is checked field by field; nothing is echoed', () => {
    invalid(() => parseLocation({ ...tokyo, country: 'XX' }), 'country');
    invalid(() => parseLocation({ ...tokyo, country: 'jp' }), 'country');
    invalid(() => parseLocation({ ...tokyo, region: 'US-Virginia' }), 'region');
    invalid(() => parseLocation({ ...tokyo, region: 'Tokyo' }), 'region');
    invalid(() => parseLocation({ ...tokyo, jurisdiction: 'Japan' }), 'jurisdiction');
    invalid(() => parseLocation({ ...tokyo, holds: [] }), 'holds');
    invalid(() => parseLocation({ ...tokyo, holds: ['secrets'] }), 'holds');
    invalid(() => parseLocation({ ...tokyo, id: 'Tokyo DB' }), 'id');
    invalid(() => parseLocation({ ...tokyo, operator: '山田 太郎' }), 'operator');
    invalid(() => parseLocation({ ...tokyo, extra: 1 }), 'extra');
    try {
      parseLocation({ ...tokyo, operator: '山田 太郎' });
    } catch (e) {
      assert.ok(!(e as Error).message.includes('山田'));
    }
    assert.equal(parseLocation({ ...tokyo, jurisdiction: 'EU' }).jurisdiction, 'EU', 'EU is a jurisdiction (ISO 3166-1 exceptional reservation)');
    invalid(() => parseLocation({ ...tokyo, country: 'EU' }), 'country');
  });
});

describe('residency rules', () => {
  test('"Tokyo/Osaka only, keys on our HSM": the store in Tokyo and the city HSM pass', () => {
    assert.equal(checkPlace(TOKYO_OSAKA_OWN_HSM, 'ciphertext', tokyo, 'ciphertext', 'juminhyo'), undefined);
    assert.equal(checkPlace(TOKYO_OSAKA_OWN_HSM, 'keys', hsm, 'keys', 'juminhyo'), undefined);
  });

  test('each list refuses on its own and is named as the rule', () => {
    assert.deepEqual(checkPlace(TOKYO_OSAKA_OWN_HSM, 'ciphertext', virginia, 'ciphertext', 'juminhyo'), { collection: 'juminhyo', rule: 'ciphertext.countries' });
    assert.deepEqual(checkPlace(TOKYO_OSAKA_OWN_HSM, 'ciphertext', noRegion, 'ciphertext', 'juminhyo'), { collection: 'juminhyo', rule: 'ciphertext.regions' }, 'an undeclared region fails a region rule');
    assert.deepEqual(checkPlace(TOKYO_OSAKA_OWN_HSM, 'ciphertext', usCloudInTokyo, 'ciphertext', 'juminhyo'), { collection: 'juminhyo', rule: 'ciphertext.jurisdictions' }, 'a US-governed operator in Tokyo');
    assert.deepEqual(checkPlace(TOKYO_OSAKA_OWN_HSM, 'keys', noRegion, 'keys', 'juminhyo'), { collection: 'juminhyo', rule: 'keys.locations' });
    const providers = parseResidencyRules({ ciphertext: { providers: ['sakura'] } });
    assert.deepEqual(checkPlace(providers, 'ciphertext', tokyo, 'ciphertext', 'c'), { collection: 'c', rule: 'ciphertext.providers' });
    assert.equal(checkPlace(parseResidencyRules({ ciphertext: { regions: ['JP-TOKYO'] } }), 'ciphertext', tokyo, 'ciphertext', 'c'), undefined, 'regions compare without case');
    assert.deepEqual(checkPlace(parseResidencyRules({ ciphertext: { countries: [] } }), 'ciphertext', tokyo, 'ciphertext', 'c'), { collection: 'c', rule: 'ciphertext.countries' }, 'an empty list allows nothing');
  });

  test('a place must be declared to hold what goes there', () => {
    assert.deepEqual(checkPlace({}, 'ciphertext', hsm, 'ciphertext', null), { collection: null, rule: 'location.holds' });
    assert.deepEqual(checkPlace({}, 'ciphertext', tokyo, 'plaintext', 'c'), { collection: 'c', rule: 'location.holds' });
    assert.equal(checkPlace({}, 'ciphertext', usCloudInTokyo, 'plaintext', 'c'), undefined);
  });

  test('the error names the rule and the collection, not the location values', () => {
    const e = violationError({ collection: 'juminhyo', rule: 'ciphertext.regions' }, 'backup');
    assert.equal(e.code, 'RESIDENCY_VIOLATION');
    assert.match(e.message, /ciphertext\.regions/);
    assert.ok(!/Virginia|US/.test(e.message));
    assert.deepEqual(e.details, [{ field: 'ciphertext.regions', reason: 'residency_violation' }]);
  });

  test('bad rules are refused with their path', () => {
    invalid(() => parseResidencyRules({ ciphertext: { countries: ['Japan'] } }), 'residency.ciphertext.countries');
    invalid(() => parseResidencyRules({ ciphertext: { cities: ['Tokyo'] } }), 'residency.ciphertext.cities');
    invalid(() => parseResidencyRules({ plaintext: {} }), 'residency.plaintext');
    invalid(() => parseResidencyRules({ keys: { locations: ['City HSM'] } }), 'residency.keys.locations');
  });
});

describe('night and closed days (JST)', () => {
  test('night is 22:00–06:00 JST', () => {
    assert.equal(isNight(new Date('2026-12-03T12:59:59Z')), false, '21:59 JST');
    assert.equal(isNight(new Date('2026-12-03T13:00:00Z')), true, '22:00 JST');
    assert.equal(isNight(new Date('2026-12-03T20:59:59Z')), true, '05:59 JST');
    assert.equal(isNight(new Date('2026-12-03T21:00:00Z')), false, '06:00 JST');
  });

  test('holidays from @holiday-jp/holiday_jp, weekends, and 29 Dec – 3 Jan', () => {
    assert.match(String(closedDay(new Date('2026-11-03T01:00:00Z'))), /^holiday:/, '文化の日 2026-11-03 (Tuesday)');
    assert.match(String(closedDay(new Date('2026-05-06T01:00:00Z'))), /^holiday:/, 'substitute holiday 2026-05-06');
    assert.equal(closedDay(new Date('2026-12-03T01:00:00Z')), null, 'a Thursday');
    assert.equal(closedDay(new Date('2026-12-05T01:00:00Z')), 'saturday');
    assert.equal(closedDay(new Date('2026-12-29T01:00:00Z')), 'year-end', 'a Tuesday in the year-end closure');
    // 2026-11-02T15:30Z is 2026-11-03 00:30 JST: the JST date decides.
    assert.match(String(closedDay(new Date('2026-11-02T15:30:00Z'))), /^holiday:/);
    assert.equal(closedDay(new Date('2026-11-03T15:30:00Z')), null, '2026-11-04 00:30 JST is a Wednesday');
  });
});
