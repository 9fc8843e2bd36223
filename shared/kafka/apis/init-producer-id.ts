/**
 * InitProducerId (key 22), v0–v5 (InitProducerIdRequest.json, InitProducerIdResponse.json). Flexible
 * from v2.
 *
 *   InitProducerIdRequest => TransactionalId NULLABLE_STRING, TransactionTimeoutMs int32,
 *                            ProducerId int64 (v3+), ProducerEpoch int16 (v3+), TAG_BUFFER
 *   InitProducerIdResponse => ThrottleTimeMs int32, ErrorCode int16, ProducerId int64,
 *                             ProducerEpoch int16, TAG_BUFFER
 *
 * Ids come from a counter in DynamoDB, in [2^48, 2^53), disjoint from the Sluice SDK's random ids
 * (shared/producers/producer-ids.ts). From v3 a producer may send its current id and epoch to keep the
 * id at the next epoch (KIP-360). A transactional id is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED
 * until Sluice has transactions.
 */
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface InitProducerIdRequest {
  readonly transactionalId: string | null;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface InitProducerIdResponse {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export const initProducerId: KafkaApi<InitProducerIdRequest, InitProducerIdResponse> = {
  key: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: 2,

  decode(r: KafkaReader, version: number): InitProducerIdRequest {
    const transactionalId = r.nullableString();
    r.int32(); // TransactionTimeoutMs: only for transactions
    const producerId = version >= 3 ? Number(r.int64()) : -1;
    const producerEpoch = version >= 3 ? r.int16() : -1;
    r.taggedFields();
    return { transactionalId, producerId, producerEpoch };
  },

  async handle(request, context) {
    try {
      const out = await context.listener.services.producerIds.initProducerId({
        ...request,
        version: context.apiVersion,
      });
      return { errorCode: code(out.error), producerId: out.producerId, producerEpoch: out.producerEpoch };
    } catch (err) {
      return { errorCode: groupErrorCode(err), producerId: -1, producerEpoch: -1 };
    }
  },

  encode(w: KafkaWriter, res: InitProducerIdResponse): void {
    w.int32(0).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch).taggedFields();
  },

  errorResponse(_request, errorCode) {
    return { errorCode, producerId: -1, producerEpoch: -1 };
  },
};
