import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { vaultLocation, workloadSealWorkerMemory } from '../../src/cli/io.js';
import { loadConfig } from '../../src/config/index.js';

/**
 * The settings `kuraban serve` and `kuraban import` open their vault with (measured choices,
 * docs/benchmarks.md): the import's bound on memory, the server's lack of a checkpoint thread.
 */
describe('command workloads', () => {
  const config = loadConfig({ KURABAN_DATA_DIR: '/tmp/kuraban-workload-test' }, {});

  test('import: half the SQLite page cache and a small sealing nursery; the rest of the location unchanged', () => {
    const location = vaultLocation(config, 'import');
    assert.equal(location.sqliteCacheMiB, 8);
    assert.equal(location.sqliteBackgroundCheckpoints, undefined);
    assert.deepEqual(workloadSealWorkerMemory('import'), { sealWorkerMemory: 'small' });
    const { sqliteCacheMiB: _c, ...rest } = location;
    assert.deepEqual(rest, vaultLocation(config));
  });

  test('server: no background checkpoint thread and a small sealing nursery', () => {
    const location = vaultLocation(config, 'server');
    assert.equal(location.sqliteBackgroundCheckpoints, false);
    assert.equal(location.sqliteCacheMiB, undefined);
    assert.deepEqual(workloadSealWorkerMemory('server'), { sealWorkerMemory: 'small' });
  });

  test('other commands: the defaults', () => {
    const location = vaultLocation(config);
    assert.equal(location.sqliteCacheMiB, undefined);
    assert.equal(location.sqliteBackgroundCheckpoints, undefined);
    assert.deepEqual(workloadSealWorkerMemory(undefined), {});
  });
});
