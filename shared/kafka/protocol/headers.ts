/**
 * Request and response headers (RequestHeader.json, ResponseHeader.json in Apache Kafka's sources).
 *
 *   Request frame  => Size int32, RequestHeader, request body
 *   RequestHeader v1 => RequestApiKey int16, RequestApiVersion int16, CorrelationId int32,
 *                       ClientId NULLABLE_STRING
 *   RequestHeader v2 => v1, TAG_BUFFER            (ClientId stays a classic NULLABLE_STRING)
 *   Response frame => Size int32, ResponseHeader, response body
 *   ResponseHeader v0 => CorrelationId int32
 *   ResponseHeader v1 => CorrelationId int32, TAG_BUFFER
 *
 * A request at or past its API's first flexible version uses header v2 and is answered with header v1;
 * otherwise v1 and v0. ApiVersions is answered with header v0 at every version, so that a client that
 * does not yet know what the broker speaks can always read the answer.
 */
import { KafkaReader } from './reader';
import { KafkaWriter } from './writer';

export const API_VERSIONS_KEY = 18;

export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** The fixed start every request header version shares; enough to route the frame. */
export function readRequestHeaderStart(frame: Buffer): {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
} {
  const r = new KafkaReader(frame);
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32() };
}

/**
 * Reads the whole header (v1, or v2 when `flexible`) and returns a reader of the body in the body's
 * encoding.
 */
export function readRequestHeader(
  frame: Buffer,
  flexible: boolean,
): { header: RequestHeader; body: KafkaReader } {
  const r = new KafkaReader(frame);
  const header = {
    apiKey: r.int16(),
    apiVersion: r.int16(),
    correlationId: r.int32(),
    clientId: r.nullableString(),
  };
  const body = r.withFlexible(flexible);
  body.taggedFields();
  return { header, body };
}

/** 0 or 1: the response header version for a request of this API at this version. */
export function responseHeaderVersion(apiKey: number, flexible: boolean): 0 | 1 {
  if (apiKey === API_VERSIONS_KEY) return 0;
  return flexible ? 1 : 0;
}

/** A writer positioned after the response header, in the body's encoding. */
export function responseWriter(correlationId: number, headerVersion: 0 | 1, flexible: boolean): KafkaWriter {
  const w = new KafkaWriter({ flexible });
  w.int32(0); // the frame's size, filled by frameResponse
  w.int32(correlationId);
  if (headerVersion === 1) w.uvarint(0); // the header's empty tag buffer
  return w;
}

/** The finished frame: size prefix set over what the writer holds. */
export function frameResponse(w: KafkaWriter): Buffer {
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}
