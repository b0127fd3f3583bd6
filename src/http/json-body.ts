import type { FastifyInstance } from 'fastify';
import { KurabanError } from '../errors/index.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * JSON bodies: bytes must be valid UTF-8 (RFC 8259 §8.1) — Fastify's default would silently replace
 * bad bytes with U+FFFD and store a value nobody sent. Parse errors never echo the body (V8's
 * messages quote it). Keys named __proto__ or constructor.prototype are refused outright.
 */
export function registerJsonBody(app: FastifyInstance): void {
  // Only JSON: Fastify's default text/plain parser would hand a string to the route (and skip the UTF-8 check).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'buffer' }, (_req, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new KurabanError('INVALID_UTF8', 'request body is not valid UTF-8'), undefined);
      return;
    }
    if (text.trim() === '') {
      done(new KurabanError('MALFORMED_JSON', 'request body is empty'), undefined);
      return;
    }
    try {
      // A key can be spelt with escapes ("\u005f_proto__"), so any \u escape takes the checked path too.
      const poisonable = text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
      const value: unknown = poisonable ? JSON.parse(text, refusePrototypeKeys) : JSON.parse(text);
      done(null, value);
    } catch (e) {
      if (e instanceof KurabanError) done(e, undefined);
      else done(new KurabanError('MALFORMED_JSON', 'request body is not valid JSON'), undefined);
    }
  });
}

function refusePrototypeKeys(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
    throw new KurabanError('MALFORMED_JSON', 'request body uses a reserved key');
  }
  return value;
}
