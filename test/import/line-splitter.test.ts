import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, type PhysicalLine } from '../../src/import/index.js';

/** Splits `input` fed in the given chunk sizes; returns plain objects for deepEqual. */
function split(input: Buffer, chunkSizes: (i: number) => number, max = 1024) {
  const s = new LineSplitter(max);
  const out: PhysicalLine[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const n = Math.max(1, chunkSizes(i));
    out.push(...s.push(input.subarray(at, at + n)));
    at += n;
  }
  out.push(...s.end());
  return out.map((l) => ({ number: l.number, text: l.bytes.toString('utf8'), terminator: l.terminator, oversize: l.oversize }));
}

const SAMPLE = Buffer.from('a,b\r\n\n山田\rx\r\n"q\nr"\r\nlast\r', 'utf8');
const EXPECTED = [
  { number: 1, text: 'a,b', terminator: '\r\n', oversize: false },
  { number: 2, text: '', terminator: '\n', oversize: false },
  { number: 3, text: '山田\rx', terminator: '\r\n', oversize: false },
  { number: 4, text: '"q', terminator: '\n', oversize: false },
  { number: 5, text: 'r"', terminator: '\r\n', oversize: false },
  { number: 6, text: 'last', terminator: '\r', oversize: false },
];

test('lines are the same wherever the chunks are cut (inside CRLF, inside a multi-byte character)', () => {
  assert.deepEqual(split(SAMPLE, () => SAMPLE.length), EXPECTED);
  for (let cut = 1; cut < SAMPLE.length; cut++) {
    assert.deepEqual(split(SAMPLE, (i) => (i === 0 ? cut : SAMPLE.length)), EXPECTED, `cut at byte ${cut}`);
  }
  assert.deepEqual(split(SAMPLE, () => 1), EXPECTED, 'one byte at a time');
});

test('a lone CR inside a line is data; only CR before LF (or at the very end) is a terminator', () => {
  assert.deepEqual(split(Buffer.from('a\rb\n'), () => 100), [{ number: 1, text: 'a\rb', terminator: '\n', oversize: false }]);
});

test('no input gives no lines; a final line without LF is still a line; a trailing LF adds no empty line', () => {
  assert.deepEqual(split(Buffer.alloc(0), () => 1), []);
  assert.deepEqual(split(Buffer.from('x'), () => 1), [{ number: 1, text: 'x', terminator: '', oversize: false }]);
  assert.deepEqual(split(Buffer.from('x\n'), () => 1).length, 1);
  assert.deepEqual(split(Buffer.from('\n'), () => 1), [{ number: 1, text: '', terminator: '\n', oversize: false }]);
});

test('a line longer than the limit is reported as oversize without its bytes; numbering and later lines are unaffected', () => {
  const input = Buffer.from(`${'a'.repeat(8)}\r\n${'b'.repeat(9)}\n${'c'.repeat(30)}\r\nok\n${'d'.repeat(12)}`);
  for (const size of [1, 3, 7, 64]) {
    assert.deepEqual(
      split(input, () => size, 8),
      [
        { number: 1, text: 'aaaaaaaa', terminator: '\r\n', oversize: false },
        { number: 2, text: '', terminator: '\n', oversize: true },
        { number: 3, text: '', terminator: '\n', oversize: true },
        { number: 4, text: 'ok', terminator: '\n', oversize: false },
        { number: 5, text: '', terminator: '', oversize: true },
      ],
      `chunks of ${size}`,
    );
  }
});

test('bytes of completed lines do not change when the caller reuses its chunk buffer', () => {
  const s = new LineSplitter(100);
  const chunk = Buffer.from('abc');
  s.push(chunk);
  chunk.fill(0x7a); // the caller reuses its buffer
  const [line] = s.push(Buffer.from('d\n'));
  assert.equal(line?.bytes.toString(), 'abcd');
});
