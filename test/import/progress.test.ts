import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProgress, PLAIN_INTERVAL_MS } from '../../src/import/index.js';

function fakeOut(isTTY: boolean) {
  const writes: string[] = [];
  return { out: { write: (s: string) => writes.push(s), isTTY, columns: 100 }, writes };
}

test('not a terminal: a plain line every interval and a final line, with %, rows, rows/s and ETA', () => {
  let t = 1000;
  const { out, writes } = fakeOut(false);
  const p = createProgress(out, () => t);
  p.update({ bytesRead: 0, bytesTotal: 1000, rows: 0 });
  t += PLAIN_INTERVAL_MS - 1;
  p.update({ bytesRead: 400, bytesTotal: 1000, rows: 80 });
  assert.deepEqual(writes, [], 'nothing before the first interval');
  t += 1; // 2 s after the start: half the bytes, 100 rows
  p.update({ bytesRead: 500, bytesTotal: 1000, rows: 100 });
  assert.deepEqual(writes, ['import: 50.0% 100 rows 50 rows/s ETA 0:02\n']);
  t += 500;
  p.update({ bytesRead: 600, bytesTotal: 1000, rows: 120 });
  assert.equal(writes.length, 1, 'at most one line per interval');
  t += PLAIN_INTERVAL_MS;
  p.update({ bytesRead: 900, bytesTotal: 1000, rows: 180 });
  assert.equal(writes.length, 2);
  t += 500;
  p.finish({ bytesRead: 1000, bytesTotal: 1000, rows: 200, imported: 190, rejected: 10 });
  assert.equal(writes[2], 'import: done 100.0% 200 rows in 5.0 s (40 rows/s): 190 imported, 10 rejected\n');
  assert.ok(writes.every((w) => !/[\r\x1b]/.test(w)));
});

test('a terminal: one line redrawn in place with a bar, at most every 100 ms; abort ends the line', () => {
  let t = 0;
  const { out, writes } = fakeOut(true);
  const p = createProgress(out, () => t);
  p.update({ bytesRead: 0, bytesTotal: 100, rows: 0 });
  assert.equal(writes.length, 1, 'drawn at once');
  t = 50;
  p.update({ bytesRead: 10, bytesTotal: 100, rows: 5 });
  assert.equal(writes.length, 1);
  t = 1000;
  p.update({ bytesRead: 25, bytesTotal: 100, rows: 50 });
  const line = writes[1] as string;
  assert.match(line, /^\r\x1b\[2K\[(#+)(\.+)\] import: 25\.0% 50 rows 50 rows\/s ETA 0:03$/);
  const [, done, todo] = /\[(#+)(\.+)\]/.exec(line) as RegExpExecArray;
  assert.equal(Math.round(((done as string).length / ((done as string).length + (todo as string).length)) * 100), 25);
  assert.ok(!line.includes('\n'));
  p.abort();
  assert.equal(writes[2], '\n');
});

test('a resumed import: bytes already skipped at the first update do not inflate the ETA rate', () => {
  let t = 0;
  const { out, writes } = fakeOut(false);
  const p = createProgress(out, () => t);
  p.update({ bytesRead: 900, bytesTotal: 1000, rows: 0 }); // skipped 900 bytes instantly
  t = PLAIN_INTERVAL_MS;
  p.update({ bytesRead: 950, bytesTotal: 1000, rows: 10 });
  assert.match(writes[0] as string, /ETA 0:02\n$/, '50 bytes took 2 s, so 50 more take 2 s');
});
