/**
 * S1 for the local stack: with a bearer token configured (SLUICE_TOKEN), every request without it, or
 * with a wrong one, is answered 401 before any handler runs, whatever its route, method or body; and
 * nothing in storage changes. Requests with the token reach the handlers.
 */

import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ROUTES } from '../../shared/api/routes';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import type { DirectStorage } from './audit';
import type { Violation } from './checker';
import { Random } from './prng';
import { HttpClient } from './transport';

/** Everything a request could have written: item counts of the three tables and the object count. */
export async function storageFingerprint(direct: DirectStorage): Promise<string> {
  const { config, clients } = direct;
  const counts = await Promise.all(
    [config.topicsTable, config.logTable, config.groupsTable].map(async (table) => {
      const out = await clients.dynamo.send(new ScanCommand({ TableName: table, Select: 'ALL_ATTRIBUTES' }));
      // Items as JSON, so an update (not only an insert) shows too.
      return JSON.stringify((out.Items ?? []).map((i) => JSON.stringify(i)).sort());
    }),
  );
  const objects = await clients.s3.send(new ListObjectsV2Command({ Bucket: config.bucket }));
  return JSON.stringify([counts, objects.KeyCount ?? 0]);
}

/** Authorization headers that must all be refused. */
export function badAuthorizations(token: string): (string | undefined)[] {
  return [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${token}x`,
    `Bearer ${token.slice(0, -1)}`,
    `Bearer ${token.toUpperCase()}`,
    `Basic ${Buffer.from(`user:${token}`).toString('base64')}`,
    token,
    `Token ${token}`,
    `Bearer  ${token} extra`,
  ];
}

/** A request for a route with its parameters filled, and a plausible body. */
export function sampleRequest(
  rng: Random,
  topic: string,
): { method: string; path: string; body?: Buffer | string; headers: Record<string, string> } {
  const route = rng.pick(ROUTES);
  const path = route.path
    .replace('{topic}', rng.chance(0.7) ? topic : 'other')
    .replace('{partition}', String(rng.int(0, 2)))
    .replace('{group}', 'g')
    .replace('{memberId}', 'm');
  const q = route.operation.startsWith('fetch')
    ? '?offset=0'
    : route.operation === 'listOffsets'
      ? '?at=latest'
      : '';
  if (route.operation === 'produceBatches') {
    return {
      method: route.method,
      path,
      body: encodeRecordBatch([{ value: Buffer.from('x') }]),
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
    };
  }
  const bodies: Record<string, unknown> = {
    createTopic: { name: `new-${rng.int(0, 1e6)}`, partitions: 1 },
    createPartitions: { partitions: 3 },
    produceRecords: { records: [{ value: 'x' }] },
    joinGroup: { topics: [topic] },
    heartbeat: { generation: 1, owned: [] },
    commitOffsets: { memberId: 'm', generation: 1, offsets: [{ topic, partition: 0, offset: 1 }] },
    resetOffsets: { topic, to: 'earliest' },
  };
  const body = bodies[route.operation];
  return {
    method: route.method,
    path: `${path}${q}`,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  };
}

export async function probeTokenMode(args: {
  url: string;
  token: string;
  direct: DirectStorage;
  seed: number;
  requests: number;
}): Promise<{ requests: number; violations: Violation[] }> {
  const rng = new Random(args.seed);
  const client = new HttpClient(args.url);
  const violations: Violation[] = [];
  let requests = 0;
  const fail = (message: string) => violations.push({ invariant: 'S1', message: message, events: [] });
  try {
    const topic = `secure-${args.seed}`;
    const created = await client.request(
      'POST',
      '/v1/topics',
      JSON.stringify({ name: topic, partitions: 2 }),
      {
        'content-type': 'application/json',
        authorization: `Bearer ${args.token}`,
      },
    );
    requests++;
    if (created.status !== 201) fail(`creating a topic with the token answered ${created.status}`);
    const bad = badAuthorizations(args.token);
    let before = await storageFingerprint(args.direct);
    for (let i = 0; i < args.requests; i++) {
      const req = sampleRequest(rng, topic);
      const auth = rng.pick(bad);
      const res = await client.request(req.method, req.path, req.body, {
        ...req.headers,
        ...(auth === undefined ? {} : { authorization: auth }),
      });
      requests++;
      const code = (() => {
        try {
          return JSON.parse(res.body.toString()).error?.code;
        } catch {
          return undefined;
        }
      })();
      if (res.status !== 401 || code !== 'UNAUTHORIZED' || res.headers['www-authenticate'] !== 'Bearer') {
        fail(
          `${req.method} ${req.path} with authorization ${JSON.stringify(auth)} answered ${res.status} ${res.body.toString().slice(0, 120)}`,
        );
      }
      if (i % 10 === 9 || i === args.requests - 1) {
        const after = await storageFingerprint(args.direct);
        if (after !== before)
          fail(`storage changed after refused requests (last: ${req.method} ${req.path})`);
        before = after;
      }
    }
    // With the token, the same requests reach the handlers (whatever they answer, it is not 401).
    for (let i = 0; i < Math.min(20, args.requests); i++) {
      const req = sampleRequest(rng, topic);
      const res = await client.request(req.method, req.path, req.body, {
        ...req.headers,
        authorization: `Bearer ${args.token}`,
      });
      requests++;
      if (res.status === 401) fail(`${req.method} ${req.path} with the right token answered 401`);
    }
  } finally {
    client.close();
  }
  return { requests, violations };
}
