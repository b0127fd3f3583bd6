import { randomFillPooled } from '../crypto/index.js';

/**
 * UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, version 7, 12-bit rand_a, variant 0b10, 62-bit
 * rand_b. rand_a is used as a counter within one millisecond (RFC 9562 §6.2, method 1) so ids made
 * by one process sort in creation order; the counter starts at a random value below 2^11 to leave room.
 */
export function createRecordIdGenerator(clock: () => number = Date.now): () => string {
  let lastMs = -1;
  let counter = 0;
  // One id's bytes and its text, rewritten for every id: one string allocated per id (a bulk write
  // makes one per record, on the writing thread).
  const bytes = Buffer.alloc(16);
  const text = Buffer.alloc(36);
  return () => {
    let ms = clock();
    if (ms <= lastMs) {
      ms = lastMs;
      counter++;
      if (counter > 0xfff) {
        ms = lastMs + 1; // counter overflow: borrow the next millisecond (RFC 9562 §6.2)
        counter = randomCounterStart(bytes);
      }
    } else {
      counter = randomCounterStart(bytes);
    }
    lastMs = ms;
    bytes.writeUIntBE(ms, 0, 6);
    bytes[6] = 0x70 | ((counter >> 8) & 0x0f); // version 7 (RFC 9562 §4.2)
    bytes[7] = counter & 0xff;
    randomFillPooled(bytes, 8, 8); // rand_b
    bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f); // variant 10xx (RFC 9562 §4.1)
    // RFC 9562 §4: lowercase hex, hyphens after bytes 4, 6, 8 and 10 (8-4-4-4-12).
    let at = 0;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text[at++] = HYPHEN;
      const v = bytes[i] as number;
      text[at++] = HEX_DIGITS[v >> 4] as number;
      text[at++] = HEX_DIGITS[v & 0x0f] as number;
    }
    return text.toString('latin1');
  };
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const HYPHEN = 0x2d;

/** A counter start below 2^11 (RFC 9562 §6.2 method 1: room left to count up), drawn into bytes 8–9 of the scratch id. */
function randomCounterStart(scratch: Buffer): number {
  randomFillPooled(scratch, 8, 2);
  return scratch.readUInt16BE(8) & 0x7ff;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
