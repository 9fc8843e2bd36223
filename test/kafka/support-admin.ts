/**
 * Test support for the admin API tests: KAFKA_APIS with each request's version recorded, so a test can
 * say which versions a real client negotiated, and HTTP calls to the stack's own API.
 */
import { KAFKA_APIS } from '../../shared/kafka/apis/index';
import type { KafkaApi } from '../../shared/kafka/apis/types';

export function recordingApis(): { apis: KafkaApi[]; versions: Map<string, Set<number>> } {
  const versions = new Map<string, Set<number>>();
  const apis = KAFKA_APIS.map(
    (api): KafkaApi => ({
      ...api,
      decode(reader, version) {
        const seen = versions.get(api.name) ?? new Set<number>();
        versions.set(api.name, seen.add(version));
        return api.decode(reader, version);
      },
    }),
  );
  return { apis, versions };
}

/** The versions recorded for each of `names`, sorted. */
export function versionsOf(versions: Map<string, Set<number>>, names: readonly string[]) {
  return Object.fromEntries(names.map((n) => [n, [...(versions.get(n) ?? [])].sort((a, b) => a - b)]));
}

export async function http(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}
