import { randomBytesPooled } from '../crypto/index.js';

/**
 * UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, version 7, 12-bit rand_a, variant 0b10, 62-bit
 * rand_b. rand_a is used as a counter within one millisecond (RFC 9562 §6.2, method 1) so ids made
 * by one process sort in creation order; the counter starts at a random value below 2^11 to leave room.
 */
export function createRecordIdGenerator(clock: () => number = Date.now): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    let ms = clock();
    if (ms <= lastMs) {
      ms = lastMs;
      counter++;
      if (counter > 0xfff) {
        ms = lastMs + 1; // counter overflow: borrow the next millisecond (RFC 9562 §6.2)
        counter = randomBytesPooled(2).readUInt16BE(0) & 0x7ff;
      }
    } else {
      counter = randomBytesPooled(2).readUInt16BE(0) & 0x7ff;
    }
    lastMs = ms;
    const b = randomBytesPooled(16);
    b.writeUIntBE(ms, 0, 6);
    b[6] = 0x70 | ((counter >> 8) & 0x0f); // version 7 (RFC 9562 §4.2)
    b[7] = counter & 0xff;
    b[8] = 0x80 | ((b[8] as number) & 0x3f); // variant 10xx (RFC 9562 §4.1)
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
