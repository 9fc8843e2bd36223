import { SluiceError } from '../errors';
import { ROUTES, type Route } from './routes';

export interface RouteMatch {
  readonly route: Route;
  /** Path parameters, percent-decoded. */
  readonly params: Record<string, string>;
}

/** The route API Gateway invoked: its resource path and method, as in the proxy event. */
export function routeForResource(method: string, resource: string): Route | undefined {
  return ROUTES.find((r) => r.method === method && r.path === resource);
}

function segments(path: string): string[] {
  return path.split('/').slice(1);
}

const compiled = ROUTES.map((route) => ({ route, parts: segments(route.path) }));

/**
 * Matches a raw request path (still percent-encoded) against the route table, as API Gateway does:
 * each `{param}` takes exactly one non-empty segment, and is decoded after matching, so `a%2Fb` is one
 * segment whose value is `a/b` (which topic validation then rejects). Throws NOT_FOUND when no route
 * has the path, METHOD_NOT_ALLOWED when routes have it but not with this method.
 */
export function matchRoute(method: string, rawPath: string): RouteMatch {
  const parts = segments(rawPath);
  const allowed: string[] = [];
  for (const { route, parts: pattern } of compiled) {
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const want = pattern[i]!;
      const got = parts[i]!;
      if (want.startsWith('{')) {
        if (got === '') ok = false;
        else params[want.slice(1, -1)] = decodeSegment(got);
      } else ok = want === got;
    }
    if (!ok) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) {
    throw new SluiceError(
      'METHOD_NOT_ALLOWED',
      `${method} is not allowed on ${rawPath} (allowed: ${allowed.join(', ')})`,
      {
        details: { allowed },
      },
    );
  }
  throw new SluiceError('NOT_FOUND', `no route for ${method} ${rawPath}`);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SluiceError(
      'INVALID_REQUEST',
      `the path segment ${JSON.stringify(segment)} is not valid percent-encoding`,
    );
  }
}
