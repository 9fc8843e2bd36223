/**
 * ApiVersions (key 18), v0–v3 (ApiVersionsRequest.json, ApiVersionsResponse.json). Flexible from v3.
 *
 *   ApiVersionsRequest v0–v2 => (empty)
 *   ApiVersionsRequest v3    => ClientSoftwareName COMPACT_STRING, ClientSoftwareVersion COMPACT_STRING,
 *                               TAG_BUFFER
 *   ApiVersionsResponse => ErrorCode int16,
 *                          ApiKeys [ApiKey int16, MinVersion int16, MaxVersion int16, TAG_BUFFER(v3+)],
 *                          ThrottleTimeMs int32 (v1+), TAG_BUFFER (v3+)
 *
 * Always answered with response header v0. A request at a version this broker does not implement is
 * answered by the server (server.ts) with a v0 response carrying UNSUPPORTED_VERSION (35) and the
 * list, so the client can retry at a version both sides know (KIP-511).
 */
import { KAFKA_ERRORS } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import type { KafkaApi } from './types';

export interface ApiVersionsRequest {
  readonly clientSoftwareName: string | null;
  readonly clientSoftwareVersion: string | null;
}

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface ApiVersionsResponse {
  readonly errorCode: number;
  readonly apiKeys: readonly ApiVersionRange[];
  readonly throttleTimeMs: number;
}

export function advertisedVersions(apis: readonly KafkaApi[]): ApiVersionRange[] {
  return apis
    .map((a) => ({ apiKey: a.key, minVersion: a.minVersion, maxVersion: a.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}

export function encodeApiVersionsResponse(w: KafkaWriter, res: ApiVersionsResponse, version: number): void {
  w.int16(res.errorCode);
  w.array(res.apiKeys, (w, k) => {
    w.int16(k.apiKey).int16(k.minVersion).int16(k.maxVersion).taggedFields();
  });
  if (version >= 1) w.int32(res.throttleTimeMs);
  w.taggedFields();
}

export const apiVersions: KafkaApi<ApiVersionsRequest, ApiVersionsResponse> = {
  key: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 3,
  flexibleFrom: 3,
  decode(r: KafkaReader, version: number): ApiVersionsRequest {
    if (version < 3) return { clientSoftwareName: null, clientSoftwareVersion: null };
    const clientSoftwareName = r.string();
    const clientSoftwareVersion = r.string();
    r.taggedFields();
    return { clientSoftwareName, clientSoftwareVersion };
  },
  async handle(_request, context) {
    return {
      errorCode: KAFKA_ERRORS.NONE,
      apiKeys: advertisedVersions(context.listener.apis),
      throttleTimeMs: 0,
    };
  },
  encode: encodeApiVersionsResponse,
  errorResponse(_request, errorCode) {
    return { errorCode, apiKeys: [], throttleTimeMs: 0 };
  },
};
