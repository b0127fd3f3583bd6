import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_NOTE_SIGNATURES,
  NoteError,
  formatNote,
  generateNoteKeyPair,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from '../../src/ledger/index.js';
import type { NoteErrorReason } from '../../src/ledger/index.js';

// Known-answer data from golang.org/x/mod/sumdb/note (note_test.go): deterministic Ed25519.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const peter = parseVerifierKey(PETER_VKEY);
const enoch = parseVerifierKey(ENOCH_VKEY);

function throwsReason(fn: () => unknown, reason: NoteErrorReason, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof NoteError && e.reason === reason, message);
}

describe('signNote', () => {
  test('reproduces the Go known answer byte for byte', () => {
    const signed = signNote(TEXT, [parseSignerKey(PETER_SKEY)]);
    assert.equal(signed.toString('utf8'), `${TEXT}\n${PETER_SIG}`);
  });

  test('replaces an earlier signature by the same key and keeps the others', () => {
    const signer = parseSignerKey(PETER_SKEY);
    const earlier = parseNote(`${TEXT}\n${ENOCH_SIG}${PETER_SIG}`).signatures;
    const stale = { name: 'PeterNeumann', keyId: 0xc74f20a3, signature: Buffer.from('stale') };
    assert.equal(signNote(TEXT, [signer], [stale, ...earlier]).toString('utf8'), `${TEXT}\n${ENOCH_SIG}${PETER_SIG}`);
  });

  test('refuses text that is not a valid note text', () => {
    const signer = parseSignerKey(PETER_SKEY);
    throwsReason(() => signNote('abc', [signer]), 'malformed_note');
    throwsReason(() => signNote('', [signer]), 'malformed_note');
    throwsReason(() => signNote('a\rb\n', [signer]), 'control_character');
    throwsReason(() => signNote('a\ud800\n', [signer]), 'invalid_utf8');
    throwsReason(() => signNote(TEXT, []), 'malformed_note');
    throwsReason(() => formatNote({ text: TEXT, signatures: [{ name: 'a+b', keyId: 1, signature: Buffer.of(1) }] }), 'invalid_key_name');
    throwsReason(() => formatNote({ text: TEXT, signatures: [{ name: 'a', keyId: 2 ** 32, signature: Buffer.of(1) }] }), 'malformed_signature_line');
  });
});

describe('openNote', () => {
  test('verifies trusted signatures and ignores unknown ones', () => {
    const one = openNote(Buffer.from(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`), [peter]);
    assert.equal(one.text, TEXT);
    assert.deepEqual(one.verified.map((s) => [s.name, s.keyId]), [['PeterNeumann', 0xc74f20a3]]);
    assert.deepEqual(one.unverified.map((s) => [s.name, s.keyId]), [['EnochRoot', 0xaf0cfe78]]);
    const both = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, enoch]);
    assert.equal(both.verified.length, 2);
    assert.equal(both.unverified.length, 0);
    // Repeats of the same signature are reported once.
    const repeated = openNote(`${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}`, [peter]);
    assert.equal(repeated.verified.length, 1);
    assert.equal(repeated.unverified.length, 1);
  });

  test('rejects a note with no trusted signature, and duplicate trusted keys', () => {
    throwsReason(() => openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, []), 'no_trusted_signature');
    throwsReason(() => openNote(`${TEXT}\n${ENOCH_SIG}`, [peter]), 'no_trusted_signature');
    throwsReason(() => openNote(`${TEXT}\n${PETER_SIG}`, [enoch, peter, enoch]), 'ambiguous_key');
  });

  test('a signature matching a key in name only or key ID only is ignored, not trusted', () => {
    const renamed = PETER_SIG.replace('PeterNeumann', 'CarmenSandiego');
    throwsReason(() => openNote(`${TEXT}\n${renamed}`, [peter]), 'no_trusted_signature');
    const otherId = PETER_SIG.replace('x08g', 'xxxx');
    throwsReason(() => openNote(`${TEXT}\n${otherId}`, [peter]), 'no_trusted_signature');
  });

  test('a bad signature from a trusted key rejects the whole note, even beside a good one', () => {
    const bad = `${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    throwsReason(() => openNote(`${TEXT}\n${bad}`, [peter]), 'signature_invalid');
    throwsReason(() => openNote(`${TEXT}\n${PETER_SIG}${bad}`, [peter]), 'signature_invalid');
    throwsReason(() => openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG.replace('p+vAF', 'p/vAF')}`, [peter, enoch]), 'signature_invalid');
    throwsReason(() => openNote(`${TEXT.replace('If', 'if')}\n${PETER_SIG}`, [peter]), 'signature_invalid');
  });

  test('accepts up to 100 signatures and refuses 101', () => {
    assert.equal(openNote(`${TEXT}\n${PETER_SIG.repeat(MAX_NOTE_SIGNATURES)}`, [peter]).verified.length, 1);
    throwsReason(() => openNote(`${TEXT}\n${PETER_SIG.repeat(MAX_NOTE_SIGNATURES + 1)}`, [peter]), 'too_many_signatures');
    throwsReason(() => openNote(`${TEXT}\n${PETER_SIG.repeat(MAX_NOTE_SIGNATURES + 1)}`, []), 'too_many_signatures');
  });

  test('rejects malformed notes with a stable reason', () => {
    const cases: [string | Buffer, NoteErrorReason][] = [
      [TEXT, 'malformed_note'],
      [`${TEXT}\n`, 'malformed_note'],
      [`${TEXT}\n${PETER_SIG.slice(0, -1)}`, 'malformed_note'],
      [`\x01${TEXT}\n${PETER_SIG}`, 'control_character'],
      [`${TEXT}\n${PETER_SIG.slice(0, -1)}\r\n`, 'control_character'],
      [`${TEXT.replace('\n', '\t\n')}\n${PETER_SIG}`, 'control_character'],
      [Buffer.concat([Buffer.of(0xff), Buffer.from(`${TEXT}\n${PETER_SIG}`)]), 'invalid_utf8'],
      [Buffer.concat([Buffer.from(`${TEXT}\n${PETER_SIG}`), Buffer.of(0xe2, 0x80)]), 'invalid_utf8'],
      [`${TEXT}\ud800\n${PETER_SIG}`, 'invalid_utf8'],
      // The name ends at the first space, so 'Name x08go…' is read as (bad) base64, as in Go.
      [`${TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`, 'malformed_signature_line'],
      [`${TEXT}\n\u2014 a+b x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`, 'invalid_key_name'],
      [`${TEXT}\n${PETER_SIG}Unexpected line.\n`, 'malformed_signature_line'],
      [`${TEXT}\n${PETER_SIG.replace('\u2014 ', '- ')}`, 'malformed_signature_line'],
      [`${TEXT}\n${PETER_SIG.replace('\u2014 ', '\u2014')}`, 'malformed_signature_line'],
      [`${TEXT}\n\u2014 PeterNeumann\n`, 'malformed_signature_line'],
      [`${TEXT}\n\u2014 PeterNeumann \n`, 'malformed_signature_line'],
      [`${TEXT}\n${PETER_SIG.replace('AM=', 'AM')}`, 'malformed_signature_line'],
      [`${TEXT}\n${PETER_SIG.replace('AM=', 'AN=')}`, 'malformed_signature_line'],
      [`${TEXT}\n${PETER_SIG.replace('x08go/', 'x08go_')}`, 'malformed_signature_line'],
      [`${TEXT}\n${PETER_SIG.replace(' x08go', '  x08go')}`, 'malformed_signature_line'],
      [`${TEXT}\n\u2014 PeterNeumann x08gow==\n`, 'malformed_signature_line'],
      [`${TEXT}\n\u2014 PeterNeumann x08gow8=\n`, 'signature_invalid'],
    ];
    for (const [msg, reason] of cases) throwsReason(() => openNote(msg, [peter]), reason, JSON.stringify(String(msg).slice(-40)));
  });

  test('the text is split at the last empty line, so it may contain empty lines', () => {
    const pair = generateNoteKeyPair('example.com/notes');
    const signer = parseSignerKey(pair.signerKey);
    const verifier = parseVerifierKey(pair.verifierKey);
    for (const text of ['a\n\nb\n', 'a\n\n', '\n', '\n\n\n', `x\n\n${PETER_SIG}`]) {
      const opened = openNote(signNote(text, [signer]), [verifier]);
      assert.equal(opened.text, text);
    }
  });

  test('round trip and single-byte tamper detection (property)', () => {
    const pair = generateNoteKeyPair('example.com/notes');
    const signer = parseSignerKey(pair.signerKey);
    const verifier = parseVerifierKey(pair.verifierKey);
    const line = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[\u0000-\u001f]/.test(s));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (lines, at, mask) => {
        const text = lines.map((l) => `${l}\n`).join('');
        const signed = signNote(text, [signer]);
        assert.equal(openNote(signed, [verifier]).text, text);
        assert.deepEqual(formatNote(parseNote(signed)), signed);
        const bad = Buffer.from(signed);
        const i = at % bad.length;
        bad[i] = (bad[i] as number) ^ mask;
        assert.throws(() => openNote(bad, [verifier]), NoteError);
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary bytes never crash: the result is a note or a NoteError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const input = Buffer.concat([Buffer.from(`${TEXT}\n`), bytes]);
        for (const msg of [bytes, input]) {
          try {
            openNote(msg, [peter]);
          } catch (e) {
            assert.ok(e instanceof NoteError, String(e));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
