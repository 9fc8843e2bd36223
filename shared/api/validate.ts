/**
 * Request validation, in one place. Every operation reads its input through these functions, so a
 * malformed value is rejected the same way everywhere (400 with the field, the limit and the value),
 * before any service is called: bad input writes nothing.
 */

import { type ErrorCode, SluiceError, show } from '../errors';
import { isLegalName, nameRule } from '../model/names';
import { type ApiRequest, isBinaryMediaType, JSON_TYPE, mediaType } from './http';
import { API_LIMITS } from './limits';

export { show };

export function invalid(message: string, code: ErrorCode = 'INVALID_REQUEST'): SluiceError {
  return new SluiceError(code, message);
}

export interface IntRange {
  /** @default 0 */
  readonly min?: number;
  /** @default Number.MAX_SAFE_INTEGER */
  readonly max?: number;
  /** Error code for a bad value. @default 'INVALID_REQUEST' */
  readonly code?: ErrorCode;
}

function rangeText(min: number, max: number): string {
  return min === 0 ? `a non-negative integer ≤ ${max}` : `an integer from ${min} to ${max}`;
}

function checkRange(field: string, n: number, raw: unknown, range: IntRange): number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (n > max && max < Number.MAX_SAFE_INTEGER && Number.isSafeInteger(n)) {
    throw invalid(`${field} must be ≤ ${max}, but ${show(raw)} was provided`, range.code);
  }
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(`${field} must be ${rangeText(min, max)}, but ${show(raw)} was provided`, range.code);
  }
  return n;
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/**
 * A number from a path or query string: plain decimal digits only. `1e3`, `0x10`, `-1`, `+1`, `1.0`,
 * ` 1`, `007`, `''` and anything beyond 2^53 − 1 are rejected: Number() would accept most of them.
 */
export function parseIntParam(field: string, raw: string, range: IntRange = {}): number {
  if (!DECIMAL.test(raw)) {
    throw invalid(
      `${field} must be ${rangeText(range.min ?? 0, range.max ?? Number.MAX_SAFE_INTEGER)} in decimal digits, but ${show(raw)} was provided`,
      range.code,
    );
  }
  return checkRange(field, Number(raw), raw, range);
}

/** A number in a JSON body: a JSON number that is a safe integer in range (no strings, no fractions). */
export function jsonInt(field: string, value: unknown, range: IntRange = {}): number {
  if (typeof value !== 'number') {
    throw invalid(
      `${field} must be ${rangeText(range.min ?? 0, range.max ?? Number.MAX_SAFE_INTEGER)}, but ${show(value)} was provided`,
      range.code,
    );
  }
  return checkRange(field, value, value, range);
}

/** Topic names as in Kafka: `[a-zA-Z0-9._-]{1,249}`, not `.` or `..` (shared/model/names.ts). */
export function validateTopicName(name: unknown, field = 'topic'): string {
  return validateName(name, field, 'INVALID_TOPIC');
}

/** Group and member ids follow the topic-name rule: they travel in URL paths and IAM resource paths. */
export function validateName(name: unknown, field: string, code: ErrorCode): string {
  const max = API_LIMITS.maxNameLength;
  if (!isLegalName(name, max)) {
    throw invalid(`${field} must be ${nameRule(max)}, but ${show(name)} was provided`, code);
  }
  return name;
}

export function pathParam(req: ApiRequest, name: string): string {
  const value = req.params[name];
  if (value === undefined) throw invalid(`path parameter ${name} is missing`);
  return value;
}

export function topicParam(req: ApiRequest): string {
  return validateTopicName(pathParam(req, 'topic'));
}

export function partitionParam(req: ApiRequest): number {
  return parseIntParam('partition', pathParam(req, 'partition'), { max: API_LIMITS.maxPartitionNumber });
}

/** The query parameters of a route: unknown or repeated ones are rejected. */
export function queryParams<K extends string>(
  req: ApiRequest,
  allowed: readonly K[],
): Partial<Record<K, string>> {
  const result: Partial<Record<K, string>> = {};
  for (const [name, values] of Object.entries(req.query)) {
    if (!(allowed as readonly string[]).includes(name)) {
      const expected = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw invalid(`unknown query parameter ${show(name)} (expected: ${expected})`);
    }
    if (values.length !== 1)
      throw invalid(`query parameter ${name} must be given once, but was given ${values.length} times`);
    result[name as K] = values[0]!;
  }
  return result;
}

export function checkBodySize(req: ApiRequest, max: number = API_LIMITS.maxBodyBytes): void {
  if (req.body.length > max) {
    throw new SluiceError(
      'MESSAGE_TOO_LARGE',
      `the request body must be ≤ ${max} bytes, but ${req.body.length} bytes were provided`,
      { details: { limit: max, size: req.body.length } },
    );
  }
}

/** Rejects a body whose Content-Type is not one of `types` (415). */
/**
 * A route that answers binary must be asked for it: API Gateway hands a base64 answer back decoded only
 * when the first Accept type is a binary media type, and otherwise sends the base64 text under the
 * binary Content-Type. Refusing here (406, before any work) keeps base64 from ever being labelled binary,
 * on API Gateway and on the local gateway alike.
 */
export function requireBinaryAccept(req: ApiRequest, type: string, alternative?: string): void {
  if (isBinaryMediaType(req.headers.accept)) return;
  throw new SluiceError(
    'NOT_ACCEPTABLE',
    `this route answers binary ${type}: send the header Accept: ${type} (first, if you list several)` +
      (alternative ? `; for JSON, use ${alternative}` : '') +
      `, but ${req.headers.accept === undefined ? 'no Accept header' : `Accept: ${req.headers.accept}`} was sent`,
    { details: { accept: type } },
  );
}

export function requireContentType(req: ApiRequest, types: readonly string[], allowMissing = false): void {
  const type = mediaType(req.headers['content-type']);
  if (type === undefined && allowMissing) return;
  if (type === undefined || !types.includes(type)) {
    throw new SluiceError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type must be ${types.join(' or ')}, but ${type === undefined ? 'none' : show(type)} was provided`,
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Scans JSON text before JSON.parse: rejects nesting deeper than maxJsonDepth and more than
 * maxJsonValues values, so a small body cannot make the parser recurse deeply or build huge arrays.
 */
function checkJsonShape(text: string): void {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      values++;
      if (depth > API_LIMITS.maxJsonDepth) {
        throw invalid(
          `JSON nesting must be ≤ ${API_LIMITS.maxJsonDepth} levels deep, but the body nests deeper`,
        );
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c) {
      values++;
      if (values > API_LIMITS.maxJsonValues) {
        throw invalid(`a JSON body must hold ≤ ${API_LIMITS.maxJsonValues} values, but the body holds more`);
      }
    }
  }
}

/** The JSON body of a request: Content-Type application/json (or none), size-checked, shape-checked, parsed. */
export function jsonBody(req: ApiRequest): unknown {
  requireContentType(req, [JSON_TYPE], true);
  checkBodySize(req);
  if (req.body.length === 0) throw invalid('the request body must be a JSON object, but it is empty');
  let text: string;
  try {
    text = utf8.decode(req.body);
  } catch {
    throw invalid('the request body is not valid UTF-8');
  }
  checkJsonShape(text);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A JSON object with only the fields in `allowed`. JSON.parse makes `__proto__` an own property (it
 * pollutes nothing), but such keys are refused everywhere so that no later copy can turn them into one.
 */
export function jsonObject(
  value: unknown,
  field: string,
  allowed: readonly string[],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${field} must be a JSON object, but ${show(value)} was provided`);
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw invalid(`${field} must not have a field named ${show(key)}`);
    if (!allowed.includes(key)) {
      throw invalid(`unknown field ${show(key)} in ${field} (expected: ${allowed.join(', ')})`);
    }
  }
  return value as Record<string, unknown>;
}

/** A JSON object used as a map (e.g. record headers): any keys but the forbidden ones, string or null values. */
export function jsonStringMap(value: unknown, field: string): [string, string | null][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${field} must be a JSON object of strings, but ${show(value)} was provided`);
  }
  const entries: [string, string | null][] = [];
  for (const [key, v] of Object.entries(value)) {
    if (key === '__proto__') throw invalid(`${field} must not have a key named ${show(key)}`);
    if (typeof v !== 'string' && v !== null) {
      throw invalid(`${field}.${key} must be a string or null, but ${show(v)} was provided`);
    }
    entries.push([key, v]);
  }
  return entries;
}

export function jsonArray(value: unknown, field: string, maxLength: number): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array, but ${show(value)} was provided`);
  if (value.length > maxLength) {
    throw new SluiceError(
      'MESSAGE_TOO_LARGE',
      `${field} must hold ≤ ${maxLength} items, but ${value.length} were provided`,
      { details: { limit: maxLength, size: value.length } },
    );
  }
  return value;
}

export function jsonString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string, but ${show(value)} was provided`);
  return value;
}

export function oneOf<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalid(`${field} must be one of ${choices.join(', ')}, but ${show(value)} was provided`);
  }
  return value as T;
}

export type Encoding = 'utf8' | 'base64';
export const ENCODINGS: readonly Encoding[] = ['utf8', 'base64'];

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes from a JSON string in the request's encoding. Base64 is checked strictly (Buffer.from is lenient). */
export function decodeBytes(value: string, encoding: Encoding, field: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(value, 'utf8');
  if (!BASE64.test(value))
    throw invalid(`${field} must be standard padded base64, but ${show(value)} was provided`);
  return Buffer.from(value, 'base64');
}

/** A JSON string for bytes; utf8 refuses bytes that are not UTF-8 rather than mangle them. */
export function encodeBytes(value: Buffer, encoding: Encoding, field: string): string {
  if (encoding === 'base64') return value.toString('base64');
  try {
    return utf8.decode(value);
  } catch {
    throw invalid(`${field} is not valid UTF-8; ask with encoding=base64`);
  }
}
