import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isAbsolute, join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { KurabanError } from '../../src/errors/index.js';

function invalid(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (e) {
    assert.ok(e instanceof KurabanError);
    assert.equal(e.code, 'CONFIG_INVALID');
    return e.message;
  }
  assert.fail(`expected CONFIG_INVALID for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  test('defaults', () => {
    const c = loadConfig({});
    assert.equal(c.dataDir, resolve('.kuraban'));
    assert.equal(c.keyFile, join(resolve('.kuraban'), 'root.key'));
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.passphrase, undefined);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8420);
    assert.equal(c.bodyLimit, 1024 * 1024);
    assert.equal(c.batchBodyLimit, 32 * 1024 * 1024);
    assert.equal(c.logLevel, 'info');
  });

  test('reads the environment; relative paths become absolute; an empty database URL means SQLite', () => {
    const c = loadConfig({
      KURABAN_DATA_DIR: 'data',
      KURABAN_KEY_FILE: 'keys/root.key',
      KURABAN_DATABASE_URL: '',
      KURABAN_PORT: '0',
      KURABAN_BODY_LIMIT: '1024',
      KURABAN_LOG_LEVEL: 'silent',
      KURABAN_HOST: '0.0.0.0',
      KURABAN_PASSPHRASE: 'p',
    });
    assert.equal(c.dataDir, resolve('data'));
    assert.ok(isAbsolute(c.keyFile));
    assert.equal(c.keyFile, resolve('keys/root.key'));
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.port, 0);
    assert.equal(c.bodyLimit, 1024);
    assert.equal(c.logLevel, 'silent');
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.passphrase, 'p');
    assert.equal(loadConfig({ KURABAN_DATABASE_URL: 'postgresql://u@h/db' }).databaseUrl, 'postgresql://u@h/db');
    assert.equal(loadConfig({ KURABAN_DATA_DIR: '/srv/k' }).keyFile, '/srv/k/root.key');
  });

  test('overrides (CLI flags) win over the environment', () => {
    const c = loadConfig({ KURABAN_PORT: '9000', KURABAN_LOG_LEVEL: 'nonsense' }, { port: 9100, logLevel: 'debug' });
    assert.equal(c.port, 9100);
    assert.equal(c.logLevel, 'debug');
  });

  test('invalid values are CONFIG_INVALID, naming the setting', () => {
    for (const port of ['abc', '70000', '-1', '1.5', '65536', ' ', '0x1f90', '1e3', '80 80']) assert.match(invalid({ KURABAN_PORT: port }), /KURABAN_PORT/, port);
    for (const v of ['1023', '999999999999', 'lots']) assert.match(invalid({ KURABAN_BODY_LIMIT: v }), /KURABAN_BODY_LIMIT/, v);
    assert.match(invalid({ KURABAN_BATCH_BODY_LIMIT: String(256 * 1024 * 1024 + 1) }), /KURABAN_BATCH_BODY_LIMIT/);
    assert.match(invalid({ KURABAN_LOG_LEVEL: 'verbose' }), /KURABAN_LOG_LEVEL/);
    assert.match(invalid({ KURABAN_DATABASE_URL: 'mysql://x' }), /KURABAN_DATABASE_URL/);
    assert.match(invalid({ KURABAN_DATABASE_URL: '/var/lib/db' }), /KURABAN_DATABASE_URL/);
  });

  test('reports every invalid setting at once, without echoing the values', () => {
    const m = invalid({ KURABAN_PORT: 'secret-port', KURABAN_LOG_LEVEL: 'secret-level', KURABAN_DATABASE_URL: 'mysql://user:hunter2@h/db' });
    assert.match(m, /KURABAN_PORT/);
    assert.match(m, /KURABAN_LOG_LEVEL/);
    assert.match(m, /KURABAN_DATABASE_URL/);
    assert.ok(!m.includes('secret-') && !m.includes('hunter2'));
  });

  test('the result is frozen', () => {
    const c = loadConfig({});
    assert.ok(Object.isFrozen(c));
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
    assert.equal(c.port, 8420);
  });
});
