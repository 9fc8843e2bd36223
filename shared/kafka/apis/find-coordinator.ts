/**
 * FindCoordinator (key 10), v0–v4 (FindCoordinatorRequest.json, FindCoordinatorResponse.json).
 * Flexible from v3.
 *
 *   FindCoordinatorRequest => Key STRING (v0–v3), KeyType int8 (v1+), CoordinatorKeys [STRING] (v4+),
 *                             TAG_BUFFER (v3+)
 *   FindCoordinatorResponse v0–v3 => ThrottleTimeMs int32 (v1+), ErrorCode int16,
 *                                    ErrorMessage NULLABLE_STRING (v1+), NodeId int32, Host STRING,
 *                                    Port int32, TAG_BUFFER (v3+)
 *   FindCoordinatorResponse v4 => ThrottleTimeMs int32,
 *                                 Coordinators [Key STRING, NodeId int32, Host STRING, Port int32,
 *                                               ErrorCode int16, ErrorMessage NULLABLE_STRING,
 *                                               TAG_BUFFER], TAG_BUFFER
 *
 * Every listener is the coordinator of every group: group state lives in DynamoDB, not in a listener.
 * Key type 0 (group) and 1 (transaction: InitProducerId then refuses transactional ids) answer this
 * listener; other key types (share groups) INVALID_REQUEST.
 */
import { KAFKA_ERRORS } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import type { KafkaApi } from './types';

export interface FindCoordinatorRequest {
  readonly keyType: number;
  readonly keys: readonly string[];
}

interface Coordinator {
  readonly key: string;
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface FindCoordinatorResponse {
  readonly coordinators: readonly Coordinator[];
}

export const findCoordinator: KafkaApi<FindCoordinatorRequest, FindCoordinatorResponse> = {
  key: 10,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 3,

  decode(r: KafkaReader, version: number): FindCoordinatorRequest {
    const key = version <= 3 ? r.string() : null;
    const keyType = version >= 1 ? r.int8() : 0;
    const keys = version >= 4 ? r.array((r) => r.string()) : [key!];
    r.taggedFields();
    return { keyType, keys };
  },

  async handle(request, context) {
    const { nodeId, advertised } = context.listener;
    const known = request.keyType === 0 || request.keyType === 1;
    return {
      coordinators: request.keys.map((key) => ({
        key,
        nodeId: known ? nodeId : -1,
        host: known ? advertised.host : '',
        port: known ? advertised.port : -1,
        errorCode: known ? KAFKA_ERRORS.NONE : KAFKA_ERRORS.INVALID_REQUEST,
        errorMessage: known ? null : `coordinator key type ${request.keyType} is not supported`,
      })),
    };
  },

  encode(w: KafkaWriter, res: FindCoordinatorResponse, version: number): void {
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    if (version <= 3) {
      const c = res.coordinators[0]!;
      w.int16(c.errorCode);
      if (version >= 1) w.nullableString(c.errorMessage);
      w.int32(c.nodeId).string(c.host).int32(c.port);
    } else {
      w.array(res.coordinators, (w, c) => {
        w.string(c.key).int32(c.nodeId).string(c.host).int32(c.port).int16(c.errorCode);
        w.nullableString(c.errorMessage).taggedFields();
      });
    }
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return {
      coordinators: request.keys.map((key) => ({
        key,
        nodeId: -1,
        host: '',
        port: -1,
        errorCode,
        errorMessage: null,
      })),
    };
  },
};
