/**
 * The HTTP shapes the operations see. Neither mentions Lambda: the Lambda adapter (lambda.ts) builds an
 * ApiRequest from an API Gateway proxy event and turns an ApiResponse back into a proxy result, so the
 * operations can be called and tested without either.
 */

import { BINARY_MEDIA_TYPES, type Route } from './routes';

export interface ApiRequest {
  readonly method: string;
  readonly route: Route;
  /** Path parameters, already percent-decoded (as API Gateway passes them). */
  readonly params: Readonly<Record<string, string>>;
  /** Query parameters, decoded; a parameter given more than once keeps every value. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly requestId: string;
}

/** What an operation reports for metrics (the adapter turns these into EMF metrics). */
export interface ApiStats {
  readonly records?: number;
  readonly bytes?: number;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A Buffer under a binary media type goes out base64-encoded through API Gateway. */
  readonly body?: Buffer | string;
  readonly stats?: ApiStats;
}

export const JSON_TYPE = 'application/json';
export const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';
export const OCTET_STREAM_TYPE = 'application/octet-stream';

export function json(
  status: number,
  value: unknown,
  extra?: { headers?: Record<string, string>; stats?: ApiStats },
) {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, ...extra?.headers },
    body: JSON.stringify(value),
    ...(extra?.stats ? { stats: extra.stats } : {}),
  } satisfies ApiResponse;
}

export function binary(
  status: number,
  body: Buffer,
  contentType: string,
  extra?: { headers?: Record<string, string>; stats?: ApiStats },
): ApiResponse {
  return {
    status,
    headers: { 'content-type': contentType, ...extra?.headers },
    body,
    ...(extra?.stats ? { stats: extra.stats } : {}),
  };
}

export function noContent(): ApiResponse {
  return { status: 204 };
}

/** The media type of a Content-Type or Accept value, lower case, without parameters: `Application/JSON; charset=utf-8` → `application/json`. */
export function mediaType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const type = value.split(/[;,]/, 1)[0]!.trim().toLowerCase();
  return type === '' ? undefined : type;
}

export function isBinaryMediaType(value: string | undefined): boolean {
  const type = mediaType(value);
  return type !== undefined && (BINARY_MEDIA_TYPES as readonly string[]).includes(type);
}
