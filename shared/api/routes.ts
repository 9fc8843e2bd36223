/**
 * The one route table. The CDK stack builds its REST API resources and methods from it, and the local
 * gateway matches requests against it, so the deployed API and `npm start` cannot drift. The OpenAPI
 * file (docs/openapi.yaml) is checked against it by a test.
 */

/** The Lambda functions behind the API; each has an entry file `functions/<name>.ts` exporting `handler`. */
export const FUNCTION_NAMES = ['admin', 'produce', 'fetch', 'groups'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** What a caller needs a grant for: the CDK construct's grant helpers map these to execute-api paths. */
export type Permission = 'admin' | 'produce' | 'consume' | 'group';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface Route {
  readonly method: HttpMethod;
  /** API Gateway resource path, `{name}` for a path parameter. */
  readonly path: string;
  /** Unique name of the operation (the OpenAPI operationId). */
  readonly operation: string;
  readonly function: FunctionName;
  readonly permission: Permission;
  /** IAM (SigV4) authorization on AWS; the local stack optionally checks a bearer token instead. */
  readonly auth: 'iam';
}

const route = (
  method: HttpMethod,
  path: string,
  operation: string,
  fn: FunctionName,
  permission: Permission,
): Route => ({ method, path, operation, function: fn, permission, auth: 'iam' });

export const ROUTES: readonly Route[] = [
  route('POST', '/v1/topics', 'createTopic', 'admin', 'admin'),
  route('GET', '/v1/topics', 'listTopics', 'admin', 'consume'),
  route('GET', '/v1/topics/{topic}', 'describeTopic', 'admin', 'consume'),
  route('DELETE', '/v1/topics/{topic}', 'deleteTopic', 'admin', 'admin'),
  route('POST', '/v1/topics/{topic}/partitions', 'createPartitions', 'admin', 'admin'),
  route('POST', '/v1/topics/{topic}/config', 'alterTopicConfig', 'admin', 'admin'),
  route('POST', '/v1/topics/{topic}/records', 'produceRecords', 'produce', 'produce'),
  route('POST', '/v1/topics/{topic}/partitions/{partition}/batches', 'produceBatches', 'produce', 'produce'),
  route('GET', '/v1/topics/{topic}/partitions/{partition}/batches', 'fetchBatches', 'fetch', 'consume'),
  route('GET', '/v1/topics/{topic}/partitions/{partition}/records', 'fetchRecords', 'fetch', 'consume'),
  route('GET', '/v1/topics/{topic}/partitions/{partition}/offsets', 'listOffsets', 'admin', 'consume'),
  route('POST', '/v1/produce', 'produce', 'produce', 'produce'),
  route('POST', '/v1/fetch', 'fetch', 'fetch', 'consume'),
  route('GET', '/v1/groups', 'listGroups', 'groups', 'group'),
  route('GET', '/v1/groups/{group}', 'describeGroup', 'groups', 'group'),
  route('DELETE', '/v1/groups/{group}', 'deleteGroup', 'groups', 'group'),
  route('POST', '/v1/groups/{group}/members', 'joinGroup', 'groups', 'group'),
  route('POST', '/v1/groups/{group}/members/{memberId}/heartbeat', 'heartbeat', 'groups', 'group'),
  route('DELETE', '/v1/groups/{group}/members/{memberId}', 'leaveGroup', 'groups', 'group'),
  route('POST', '/v1/groups/{group}/offsets', 'commitOffsets', 'groups', 'group'),
  route('GET', '/v1/groups/{group}/offsets', 'fetchOffsets', 'groups', 'group'),
  route('POST', '/v1/groups/{group}/offsets/reset', 'resetOffsets', 'groups', 'group'),
];

/** Content types that API Gateway must pass as binary (base64 to and from Lambda). */
export const BINARY_MEDIA_TYPES = ['application/vnd.kafka.record-batch', 'application/octet-stream'] as const;
