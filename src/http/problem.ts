import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, KurabanError, isKurabanError, type ErrorCode, type ErrorDetail } from '../errors/index.js';

/** RFC 9457 problem details, with Kuraban's stable `code` and field-level `errors` (never values). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance: string;
  readonly errors?: readonly ErrorDetail[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'; // RFC 9457 §3

/** The `type` URI dereferences to the error's entry in the served docs (RFC 9457 §3.1.1). */
export function problemType(code: ErrorCode): string {
  return `/docs#error-${code}`;
}

export function toProblem(err: KurabanError, requestId: string): Problem {
  const spec = ERROR_CODES[err.code];
  return {
    type: problemType(err.code),
    title: spec.title,
    status: spec.status,
    detail: err.message,
    code: err.code,
    instance: `urn:kuraban:request:${requestId}`,
    ...(err.details.length > 0 ? { errors: err.details } : {}),
  };
}

const SAFE_SEGMENT = /^(?:[A-Za-z][A-Za-z0-9_-]{0,62}|[0-9]{1,9})$/;

/** Maps Fastify's own errors (parsing, limits, schema validation) onto Kuraban codes, without echoing input. */
export function fromFrameworkError(e: unknown): KurabanError {
  if (isKurabanError(e)) return e;
  const err = e as { code?: string; validation?: Array<{ instancePath?: string; keyword?: string; params?: Record<string, unknown> }>; statusCode?: number };
  if (Array.isArray(err.validation)) {
    const details = err.validation.slice(0, 20).map((v) => {
      // instancePath segments can be caller-chosen object keys (e.g. addEnumValues' keys): keep only
      // names and indexes, so a personal value sent as a key is never echoed.
      const path = (v.instancePath ?? '')
        .split('/')
        .slice(1)
        .map((seg) => (SAFE_SEGMENT.test(seg) ? seg : '*'))
        .join('.');
      const extra = v.keyword === 'additionalProperties' ? String(v.params?.additionalProperty ?? '') : '';
      const field = [path, /^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(extra) ? extra : ''].filter(Boolean).join('.');
      const reason = v.keyword === 'additionalProperties' ? 'unknown_property' : (v.keyword ?? 'invalid');
      return field ? { field, reason } : { reason };
    });
    return new KurabanError('REQUEST_INVALID', 'request does not match the expected shape', { details });
  }
  switch (err.code) {
    // The router's own answers would quote the URL (and so any value in it): never let them through.
    case 'FST_ERR_BAD_URL':
      return new KurabanError('REQUEST_INVALID', 'the URL is not validly percent-encoded', { details: [{ reason: 'bad_url' }] });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new KurabanError('REQUEST_INVALID', 'a path parameter is too long', { details: [{ reason: 'param_too_long' }] });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KurabanError('BODY_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KurabanError('UNSUPPORTED_MEDIA_TYPE', 'send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new KurabanError('MALFORMED_JSON', 'request body is empty or its length is wrong');
    default:
      if (typeof err.statusCode === 'number' && err.statusCode === 404) return new KurabanError('ROUTE_NOT_FOUND');
      return new KurabanError('INTERNAL', 'internal error', { cause: e });
  }
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: KurabanError): FastifyReply {
  const problem = toProblem(err, request.id);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}
