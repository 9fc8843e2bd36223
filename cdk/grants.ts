import { type HttpMethod, type Permission, ROUTES, type Route } from '../shared/api/routes';
import { LOG_LIMITS } from '../shared/model/limits';
import { isGroupName, isTopicName, NAME_CHARACTERS } from '../shared/model/names';

/**
 * Which API routes a grant covers, as IAM `execute-api` resource paths. Pure: the construct turns each
 * `{ method, path }` into `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD><path>`.
 *
 * IAM matches those ARNs with `*` and `?` wildcards, and `*` also spans `/`. So a grant for topic `orders`
 * must never end in `orders*` (it would match `orders-eu`): the name is always a whole path segment,
 * and a `*` stands only for a whole segment (the partition in `/partitions/<*>/batches`), after a fixed prefix that pins
 * the topic and the group. Names are restricted to `[a-zA-Z0-9._-]`, so they can hold no wildcard
 * and no `/`.
 */

/** Pass as the topic or the group to grant every topic or every group. */
export const ALL = '*';

export interface GrantedRoute {
  readonly method: HttpMethod;
  /** The route's path with its parameters filled: a name, or `*` for a whole segment. */
  readonly path: string;
  readonly operation: string;
}

export interface GrantScope {
  /** A topic name, or `ALL`. Routes whose path names no topic are granted only with `ALL`. */
  readonly topic?: string;
  /** A group name, or `ALL`. Routes whose path names no group are granted only with `ALL`. */
  readonly group?: string;
}

/**
 * Reading a topic's metadata and offsets (describeTopic, listOffsets) is what Kafka's DESCRIBE ACL
 * allows, and Kafka implies DESCRIBE from WRITE and READ: a producer needs the partition count to
 * partition by key. So produce grants include these `consume` routes too.
 */
const DESCRIBE_OPERATIONS: ReadonlySet<string> = new Set(['describeTopic', 'listOffsets']);

/** Checks a topic name for use in an IAM resource path; `ALL` is allowed. */
export function validateTopicName(topic: string): void {
  if (topic === ALL) return;
  if (!isTopicName(topic)) {
    throw new Error(
      `topic must be 1 to ${LOG_LIMITS.maxTopicNameLength} characters of ${NAME_CHARACTERS}, not "." or "..", or "${ALL}" for all topics, but ${JSON.stringify(topic)} was provided`,
    );
  }
}

/** Checks a group name for use in an IAM resource path; `ALL` is allowed. */
export function validateGroupName(group: string): void {
  if (group === ALL) return;
  if (!isGroupName(group)) {
    throw new Error(
      `group must be 1 to ${LOG_LIMITS.maxGroupNameLength} characters of ${NAME_CHARACTERS}, not "." or "..", or "${ALL}" for all groups, but ${JSON.stringify(group)} was provided`,
    );
  }
}

function fillPath(route: Route, scope: GrantScope): string | undefined {
  const segments = route.path.split('/');
  const hasParam = (name: string) => segments.includes(`{${name}}`);
  // A grant restricted to one topic (or group) covers only routes that name it in their path: the
  // multi-partition routes (`POST /v1/produce`, `POST /v1/fetch`) carry their topics in the body, out
  // of IAM's sight, and listing routes would reveal other topics' or groups' names.
  if (scope.topic !== undefined && scope.topic !== ALL && !hasParam('topic')) return undefined;
  if (scope.group !== undefined && scope.group !== ALL && !hasParam('group')) return undefined;
  return segments
    .map((segment) => {
      if (segment === '{topic}') return scope.topic ?? ALL;
      if (segment === '{group}') return scope.group ?? ALL;
      if (segment.startsWith('{')) return '*';
      return segment;
    })
    .join('/');
}

/** The routes a grant of these permissions covers, in route-table order. */
export function grantedRoutes(
  permissions: readonly Permission[],
  scope: GrantScope,
  routes: readonly Route[] = ROUTES,
): GrantedRoute[] {
  const granted: GrantedRoute[] = [];
  for (const route of routes) {
    if (!permissions.includes(route.permission)) continue;
    const path = fillPath(route, scope);
    if (path !== undefined) granted.push({ method: route.method, path, operation: route.operation });
  }
  return granted;
}

/** Produce on one topic (or `ALL`): its produce routes and its describe routes. */
export function produceRoutes(topic: string): GrantedRoute[] {
  validateTopicName(topic);
  const produce = grantedRoutes(['produce'], { topic });
  const describe = grantedRoutes(['consume'], { topic }).filter((r) => DESCRIBE_OPERATIONS.has(r.operation));
  return [...describe, ...produce];
}

/** Consume one topic (or `ALL`), and, with a group, take part in that group (or `ALL` groups). */
export function consumeRoutes(topic: string, group?: string): GrantedRoute[] {
  validateTopicName(topic);
  const consume = grantedRoutes(['consume'], { topic });
  if (group === undefined) return consume;
  validateGroupName(group);
  return [...consume, ...grantedRoutes(['group'], { group })];
}

/** Administer every topic: create, delete, add partitions. */
export function adminRoutes(): GrantedRoute[] {
  return grantedRoutes(['admin'], { topic: ALL });
}
