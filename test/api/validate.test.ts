import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApiRequest } from '../../shared/api/http';
import { matchRoute } from '../../shared/api/router';
import { ROUTES } from '../../shared/api/routes';
import {
  decodeBytes,
  jsonBody,
  jsonInt,
  parseIntParam,
  queryParams,
  validateTopicName,
} from '../../shared/api/validate';
import { SluiceError } from '../../shared/errors';

const request = (body: string | Buffer, headers: Record<string, string> = {}): ApiRequest => ({
  method: 'POST',
  route: ROUTES[0]!,
  params: {},
  query: {},
  headers,
  body: Buffer.from(body),
  requestId: 'r',
});

function errorOf(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SluiceError) return err;
    throw err;
  }
  throw new Error('expected a SluiceError');
}

describe('Module: validate', () => {
  describe('Method: parseIntParam', () => {
    it('accepts canonical decimal safe integers', () => {
      expect(parseIntParam('offset', '0')).toBe(0);
      expect(parseIntParam('offset', '42')).toBe(42);
      expect(parseIntParam('offset', '9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
      fc.assert(fc.property(fc.maxSafeNat(), (n) => parseIntParam('x', String(n)) === n));
    });

    it.each([
      '',
      '-1',
      '1e3',
      '0x10',
      '0b1',
      '0o7',
      '+1',
      ' 1',
      '1 ',
      '1.0',
      '1.',
      '007',
      '9007199254740992',
      '1'.repeat(40),
      'NaN',
      '١',
    ])('rejects %j with the field and the value', (raw) => {
      const err = errorOf(() => parseIntParam('offset', raw));
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toMatch(/^offset must be a non-negative integer ≤ 9007199254740991/);
      expect(err.message).toContain('was provided');
    });

    it('states the limit and the value when above a maximum', () => {
      expect(errorOf(() => parseIntParam('maxBytes', '9000000', { max: 4194304 })).message).toBe(
        'maxBytes must be ≤ 4194304, but "9000000" was provided',
      );
    });
  });

  describe('Method: jsonInt', () => {
    it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null, true, [1]])(
      'rejects %j',
      (v) => {
        expect(errorOf(() => jsonInt('partition', v)).code).toBe('INVALID_REQUEST');
      },
    );
  });

  describe('Method: validateTopicName', () => {
    it('follows Kafka’s rule', () => {
      const valid = fc.stringMatching(/^[a-zA-Z0-9._-]{1,249}$/).filter((s) => s !== '.' && s !== '..');
      fc.assert(fc.property(valid, (name) => validateTopicName(name) === name));
      fc.assert(
        fc.property(fc.string(), (name) => {
          const ok = /^[a-zA-Z0-9._-]{1,249}$/.test(name) && name !== '.' && name !== '..';
          if (ok) return;
          expect(errorOf(() => validateTopicName(name)).code).toBe('INVALID_TOPIC');
        }),
      );
    });

    it('cuts long values in its message', () => {
      const err = errorOf(() => validateTopicName('x'.repeat(5000)));
      expect(err.message.length).toBeLessThan(300);
      expect(err.message).toContain('(5000 characters)');
    });
  });

  describe('Method: jsonBody', () => {
    it('parses JSON with or without a content type', () => {
      expect(jsonBody(request('{"a":1}'))).toEqual({ a: 1 });
      expect(jsonBody(request('{"a":1}', { 'content-type': 'application/json; charset=utf-8' }))).toEqual({
        a: 1,
      });
    });

    it('counts brackets inside strings as text', () => {
      expect(jsonBody(request(`{"a":"${'['.repeat(1000)}\\"${'{'.repeat(1000)}"}`))).toHaveProperty('a');
    });

    it('rejects nesting beyond the limit without recursing', () => {
      expect(errorOf(() => jsonBody(request('['.repeat(4_000_000)))).message).toMatch(/nesting must be ≤ 8/);
      expect(jsonBody(request(`${'['.repeat(8)}${']'.repeat(8)}`))).toBeDefined();
      expect(errorOf(() => jsonBody(request(`${'['.repeat(9)}${']'.repeat(9)}`))).code).toBe(
        'INVALID_REQUEST',
      );
    });

    it('rejects a wrong content type with 415', () => {
      const err = errorOf(() => jsonBody(request('{}', { 'content-type': 'text/plain' })));
      expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(err.status).toBe(415);
    });
  });

  describe('Method: queryParams', () => {
    it('rejects unknown and repeated parameters', () => {
      const req = (query: Record<string, string[]>) => ({ ...request(''), query });
      expect(queryParams(req({ offset: ['1'] }), ['offset'])).toEqual({ offset: '1' });
      expect(errorOf(() => queryParams(req({ x: ['1'] }), ['offset'])).message).toBe(
        'unknown query parameter "x" (expected: offset)',
      );
      expect(errorOf(() => queryParams(req({ offset: ['1', '2'] }), ['offset'])).message).toMatch(
        /given once/,
      );
    });
  });

  describe('Method: decodeBytes', () => {
    it('reads strict padded base64 only', () => {
      expect(decodeBytes('AP8=', 'base64', 'v')).toEqual(Buffer.from([0, 255]));
      for (const bad of ['AP8', 'A P8=', 'AP8=AP8=', '_-8=', '====']) {
        expect(errorOf(() => decodeBytes(bad, 'base64', 'v')).message).toMatch(/base64/);
      }
    });
  });
});

describe('Module: router', () => {
  it('matches every route of the table by its own path', () => {
    for (const route of ROUTES) {
      const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => `${name}-1`);
      const match = matchRoute(route.method, path);
      expect(match.route).toBe(route);
    }
  });

  it('decodes parameters after matching, one segment each', () => {
    const match = matchRoute('GET', '/v1/topics/a%2Fb');
    expect(match.params).toEqual({ topic: 'a/b' });
    expect(errorOf(() => matchRoute('GET', '/v1/topics/a/b')).code).toBe('NOT_FOUND');
    expect(errorOf(() => matchRoute('GET', '/v1/topics/')).code).toBe('NOT_FOUND');
    expect(errorOf(() => matchRoute('PUT', '/v1/topics/x')).code).toBe('METHOD_NOT_ALLOWED');
  });
});
