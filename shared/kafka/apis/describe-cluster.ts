/**
 * DescribeCluster (key 60), v0–v1 (DescribeClusterRequest.json, DescribeClusterResponse.json). Flexible
 * in every version.
 *
 *   DescribeClusterRequest => IncludeClusterAuthorizedOperations bool, EndpointType int8 (v1+), TAG_BUFFER
 *   DescribeClusterResponse => ThrottleTimeMs int32, ErrorCode int16, ErrorMessage NULLABLE_STRING,
 *                              EndpointType int8 (v1+), ClusterId STRING, ControllerId int32,
 *                              Brokers [BrokerId int32, Host STRING, Port int32, Rack NULLABLE_STRING,
 *                                       TAG_BUFFER],
 *                              ClusterAuthorizedOperations int32, TAG_BUFFER
 *
 * The cluster is this listener: the one broker and the controller, as in Metadata. EndpointType 1
 * (brokers) is answered; 2 (controllers) is MISMATCHED_ENDPOINT_TYPE, as a Kafka broker answers it
 * (clients ask controllers directly for that). With no ACLs, every cluster operation is allowed.
 */
import { KAFKA_ERRORS } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { type ErrorFields, OPERATIONS_NOT_REQUESTED } from './fields';
import type { KafkaApi } from './types';

const ENDPOINT_BROKERS = 1;
/** AclOperation codes a cluster allows (org.apache.kafka.common.acl.AclOperation): all of them. */
const CLUSTER_OPERATIONS = [4, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

export interface DescribeClusterRequest {
  readonly includeClusterAuthorizedOperations: boolean;
  readonly endpointType: number;
}

export interface DescribeClusterResponse extends ErrorFields {
  readonly endpointType: number;
  readonly clusterId: string;
  readonly controllerId: number;
  readonly brokers: readonly { readonly brokerId: number; readonly host: string; readonly port: number }[];
  readonly clusterAuthorizedOperations: number;
}

export const describeCluster: KafkaApi<DescribeClusterRequest, DescribeClusterResponse> = {
  key: 60,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  flexibleFrom: 0,

  decode(r: KafkaReader, version: number): DescribeClusterRequest {
    const includeClusterAuthorizedOperations = r.bool();
    const endpointType = version >= 1 ? r.int8() : ENDPOINT_BROKERS;
    r.taggedFields();
    return { includeClusterAuthorizedOperations, endpointType };
  },

  async handle(request, context) {
    const { nodeId, advertised, clusterId } = context.listener;
    const base = {
      endpointType: request.endpointType,
      clusterId,
      controllerId: nodeId,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? CLUSTER_OPERATIONS
        : OPERATIONS_NOT_REQUESTED,
    };
    if (request.endpointType !== ENDPOINT_BROKERS) {
      return {
        ...base,
        errorCode: KAFKA_ERRORS.MISMATCHED_ENDPOINT_TYPE,
        errorMessage: `The request was sent to a broker endpoint; endpoint type ${request.endpointType} is not served here`,
        controllerId: -1,
        brokers: [],
      };
    }
    return {
      ...base,
      errorCode: KAFKA_ERRORS.NONE,
      errorMessage: null,
      brokers: [{ brokerId: nodeId, host: advertised.host, port: advertised.port }],
    };
  },

  encode(w: KafkaWriter, res: DescribeClusterResponse, version: number): void {
    w.int32(0); // ThrottleTimeMs
    w.int16(res.errorCode).nullableString(res.errorMessage);
    if (version >= 1) w.int8(res.endpointType);
    w.string(res.clusterId).int32(res.controllerId);
    w.array(res.brokers, (w, b) => {
      w.int32(b.brokerId).string(b.host).int32(b.port).nullableString(null).taggedFields();
    });
    w.int32(res.clusterAuthorizedOperations);
    w.taggedFields();
  },
};
