/**
 * docs/errors.md documents every error code, exactly once, with the status the API answers with —
 * and documents no code that no longer exists (as fastify's errors test does for its docs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES, statusOf, type ErrorCode } from '../../src/errors/index.js';
import { projectRoot } from '../helpers/project-root.js';

interface Row {
  code: string;
  status: number;
  cells: string[];
}

/** The rows of the table whose header starts with `| Code | HTTP status |`. */
function documentedRows(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => /^\|\s*Code\s*\|\s*HTTP status\s*\|/.test(l));
  assert.ok(header >= 0, 'docs/errors.md has a table headed | Code | HTTP status | …');
  const columns = (lines[header] as string).split('|').length;
  assert.match(lines[header + 1] ?? '', /^\|(\s*-+\s*\|)+$/, 'the header is followed by its separator');
  const rows: Row[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    // Cells may hold escaped pipes (\|) and code spans; split on the unescaped ones.
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    assert.equal(cells.length + 2, columns, `row has every column: ${line.slice(0, 80)}`);
    const code = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0] ?? '')?.[1];
    assert.ok(code, `the first cell is a code in backticks: ${cells[0]}`);
    assert.match(cells[1] ?? '', /^\d{3}$/, `${code}: the status is a number`);
    rows.push({ code, status: Number(cells[1]), cells });
  }
  return rows;
}

const markdown = readFileSync(join(projectRoot(), 'docs', 'errors.md'), 'utf8');
const rows = documentedRows(markdown);
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

test('every error code is documented in docs/errors.md', () => {
  const documented = new Set(rows.map((r) => r.code));
  assert.deepEqual(
    codes.filter((c) => !documented.has(c)),
    [],
    'codes missing from docs/errors.md',
  );
});

test('docs/errors.md documents no code that does not exist', () => {
  assert.deepEqual(
    rows.map((r) => r.code).filter((c) => !Object.hasOwn(ERROR_CODES, c)),
    [],
    'documented codes that are not in src/errors/codes.ts',
  );
});

test('each code is documented once', () => {
  const seen = new Set<string>();
  for (const r of rows) {
    assert.ok(!seen.has(r.code), `${r.code} is documented twice`);
    seen.add(r.code);
  }
});

test('each documented status is the status the API answers with', () => {
  for (const r of rows) {
    if (Object.hasOwn(ERROR_CODES, r.code)) assert.equal(r.status, statusOf(r.code as ErrorCode), `${r.code} status`);
  }
});

test('each row says what it means, when it happens and what to do', () => {
  for (const r of rows) {
    for (const [i, name] of [
      [2, 'meaning'],
      [3, 'when it happens'],
      [4, 'what to do'],
    ] as const) {
      assert.ok((r.cells[i] ?? '').length >= 15, `${r.code}: ${name} is written`);
    }
  }
});

test('codes are stable identifiers and statuses are errors', () => {
  for (const c of codes) {
    assert.match(c, /^[A-Z][A-Z0-9_]{2,40}$/);
    assert.ok(statusOf(c) >= 400 && statusOf(c) <= 599, `${c} is a 4xx or 5xx`);
    assert.ok(ERROR_CODES[c].title.length > 0);
  }
  assert.equal(new Set(codes.map((c) => ERROR_CODES[c].title)).size, codes.length, 'titles tell codes apart');
});
