import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  MAX_TREE_SIZE,
  NoteError,
  formatCheckpoint,
  generateNoteKeyPair,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
} from '../../src/ledger/index.js';
import type { Checkpoint, NoteErrorReason } from '../../src/ledger/index.js';

const ROOT_B64 = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
// The example body of c2sp.org/tlog-checkpoint.
const SPEC_BODY = `example.com/behind-the-sofa\n20852163\n${ROOT_B64}\n`;

function throwsReason(fn: () => unknown, reason: NoteErrorReason, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof NoteError && e.reason === reason, message);
}

function keys(name: string) {
  const pair = generateNoteKeyPair(name);
  return { signer: parseSignerKey(pair.signerKey), verifier: parseVerifierKey(pair.verifierKey) };
}

describe('checkpoint text', () => {
  test('parses and formats the spec example', () => {
    const cp = parseCheckpoint(SPEC_BODY);
    assert.equal(cp.origin, 'example.com/behind-the-sofa');
    assert.equal(cp.size, 20852163);
    assert.equal(cp.rootHash.toString('base64'), ROOT_B64);
    assert.deepEqual(cp.extensions, []);
    assert.equal(formatCheckpoint(cp), SPEC_BODY);
    assert.ok(Object.isFrozen(cp));
  });

  test('keeps extension lines, and accepts any non-empty origin (spaces included, as Rekor v1 uses)', () => {
    const body = `rekor.sigstore.dev - 1193050959916656506\n0\n${EMPTY_ROOT.toString('base64')}\nTimestamp: 1\nother ext\n`;
    const cp = parseCheckpoint(body);
    assert.equal(cp.origin, 'rekor.sigstore.dev - 1193050959916656506');
    assert.deepEqual(cp.extensions, ['Timestamp: 1', 'other ext']);
    assert.equal(formatCheckpoint(cp), body);
  });

  test('tree size: canonical decimal only, 0 … 2^53 − 1', () => {
    const body = (size: string) => `o\n${size}\n${ROOT_B64}\n`;
    assert.equal(parseCheckpoint(body('0')).size, 0);
    assert.equal(parseCheckpoint(body(String(MAX_TREE_SIZE))).size, MAX_TREE_SIZE);
    for (const bad of ['', '00', '01', '-1', '+1', '1e3', ' 1', '1 ', '0x10', '1.0', '١', String(MAX_TREE_SIZE + 1), '18446744073709551615', '18446744073709551616', '9'.repeat(400)]) {
      throwsReason(() => parseCheckpoint(body(bad)), 'invalid_tree_size', bad);
    }
  });

  test('root hash: canonical base64 of exactly 32 bytes', () => {
    const body = (root: string) => `o\n1\n${root}\n`;
    for (const bad of ['', ROOT_B64.slice(0, -1), ROOT_B64.replace('2I=', '2J='), `${ROOT_B64}=`, Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64'), ROOT_B64.replace('/', '_'), ` ${ROOT_B64}`]) {
      throwsReason(() => parseCheckpoint(body(bad)), 'invalid_root_hash', bad);
    }
  });

  test('structure: three lines at least, final newline, non-empty origin and extensions, no control characters', () => {
    throwsReason(() => parseCheckpoint(SPEC_BODY.slice(0, -1)), 'malformed_checkpoint');
    throwsReason(() => parseCheckpoint('o\n1\n'), 'malformed_checkpoint');
    throwsReason(() => parseCheckpoint(''), 'malformed_checkpoint');
    throwsReason(() => parseCheckpoint(`\n1\n${ROOT_B64}\n`), 'invalid_origin');
    throwsReason(() => parseCheckpoint(`${SPEC_BODY}\n`), 'invalid_extension_line');
    throwsReason(() => parseCheckpoint(`${SPEC_BODY}ext\n\n`), 'invalid_extension_line');
    throwsReason(() => parseCheckpoint(`o\x00\n1\n${ROOT_B64}\n`), 'malformed_checkpoint');
    throwsReason(() => parseCheckpoint(`o\ud800\n1\n${ROOT_B64}\n`), 'malformed_checkpoint');
    const cp = parseCheckpoint(SPEC_BODY);
    throwsReason(() => formatCheckpoint({ ...cp, origin: '' }), 'invalid_origin');
    throwsReason(() => formatCheckpoint({ ...cp, origin: 'a\nb' }), 'invalid_origin');
    throwsReason(() => formatCheckpoint({ ...cp, size: -1 }), 'invalid_tree_size');
    throwsReason(() => formatCheckpoint({ ...cp, size: 1.5 }), 'invalid_tree_size');
    throwsReason(() => formatCheckpoint({ ...cp, size: MAX_TREE_SIZE + 1 }), 'invalid_tree_size');
    throwsReason(() => formatCheckpoint({ ...cp, rootHash: Buffer.alloc(31) }), 'invalid_root_hash');
    throwsReason(() => formatCheckpoint({ ...cp, extensions: [''] }), 'invalid_extension_line');
  });

  test('format → parse is the identity (property)', () => {
    const line = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[\u0000-\u001f]/.test(s));
    fc.assert(
      fc.property(line, fc.integer({ min: 0, max: MAX_TREE_SIZE }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(line, { maxLength: 3 }), (origin, size, root, extensions) => {
        const cp: Checkpoint = { origin, size, rootHash: Buffer.from(root), extensions };
        assert.deepEqual(parseCheckpoint(formatCheckpoint(cp)), cp);
      }),
      { numRuns: 300 },
    );
  });
});

describe('signed checkpoints', () => {
  const log = keys('vault.example/log');
  const cp: Checkpoint = { origin: 'vault.example/log', size: 42, rootHash: Buffer.alloc(32, 7), extensions: [] };

  test('sign → open gives the checkpoint back', () => {
    const signed = signCheckpoint(cp, log.signer);
    assert.ok(signed.toString('utf8').startsWith(`vault.example/log\n42\n${Buffer.alloc(32, 7).toString('base64')}\n\n\u2014 vault.example/log `));
    const opened = openCheckpoint(signed, { origin: 'vault.example/log', verifiers: log.verifier });
    assert.deepEqual(opened.checkpoint, cp);
    assert.equal(opened.verified.length, 1);
  });

  test('the origin must be the expected one', () => {
    const signed = signCheckpoint(cp, log.signer);
    throwsReason(() => openCheckpoint(signed, { origin: 'vault.example/other', verifiers: log.verifier }), 'origin_mismatch');
    throwsReason(() => openCheckpoint(signed, { origin: 'vault.example/log ', verifiers: log.verifier }), 'origin_mismatch');
  });

  test('a log whose key name differs from its origin verifies against its origin', () => {
    const rekorLike = keys('rekor.example.dev');
    const body: Checkpoint = { ...cp, origin: 'rekor.example.dev - 1193050959916656506' };
    const signed = signCheckpoint(body, rekorLike.signer);
    assert.equal(parseNote(signed).signatures[0]?.name, 'rekor.example.dev');
    assert.deepEqual(openCheckpoint(signed, { origin: body.origin, verifiers: rekorLike.verifier }).checkpoint, body);
    throwsReason(() => openCheckpoint(signed, { origin: 'rekor.example.dev', verifiers: rekorLike.verifier }), 'origin_mismatch');
  });

  test('cosignatures from unknown keys are ignored and kept; any trusted key suffices', () => {
    const witness = keys('witness.example/w1');
    const signed = signCheckpoint(cp, [log.signer, witness.signer]);
    const opened = openCheckpoint(signed, { origin: cp.origin, verifiers: log.verifier });
    assert.equal(opened.unverified[0]?.name, 'witness.example/w1');
    assert.equal(openCheckpoint(signed, { origin: cp.origin, verifiers: [witness.verifier] }).verified.length, 1);
    // Re-signing with the log key keeps the witness signature.
    const resigned = signCheckpoint(cp, log.signer, opened.unverified);
    assert.equal(openCheckpoint(resigned, { origin: cp.origin, verifiers: [log.verifier, witness.verifier] }).verified.length, 2);
  });

  test('wrong key, bad signature from the log key, more than 100 signatures', () => {
    const other = keys('vault.example/log');
    const signed = signCheckpoint(cp, log.signer);
    throwsReason(() => openCheckpoint(signed, { origin: cp.origin, verifiers: other.verifier }), 'no_trusted_signature');
    // Same name and key ID as the log key but a different public key cannot be built from a vkey
    // (the ID is checked), so forge a signature instead: the log's line with the other key's bytes.
    const forged = signCheckpoint({ ...cp, size: 43 }, log.signer);
    const mixed = `${signed.toString('utf8').split('\n\n')[0]}\n\n${forged.toString('utf8').split('\n\n')[1]}`;
    throwsReason(() => openCheckpoint(mixed, { origin: cp.origin, verifiers: log.verifier }), 'signature_invalid');
    const line = signed.toString('utf8').split('\n\n')[1] as string;
    const many = `${formatCheckpoint(cp)}\n${line.repeat(101)}`;
    throwsReason(() => openCheckpoint(many, { origin: cp.origin, verifiers: log.verifier }), 'too_many_signatures');
  });

  test('a correctly signed note whose text is not a valid checkpoint is rejected', () => {
    const root = Buffer.alloc(32, 7).toString('base64');
    const cases: [string, NoteErrorReason][] = [
      [`vault.example/log\n042\n${root}\n`, 'invalid_tree_size'],
      [`vault.example/log\n42\n${root}\n\n\n`, 'invalid_extension_line'],
      [`vault.example/log\n42\n`, 'malformed_checkpoint'],
      [`vault.example/log\n42\n${root.slice(0, -1)}\n`, 'invalid_root_hash'],
    ];
    for (const [text, reason] of cases) {
      const signed = signNote(text, [log.signer]);
      throwsReason(() => openCheckpoint(signed, { origin: cp.origin, verifiers: log.verifier }), reason, JSON.stringify(text));
    }
  });
});
