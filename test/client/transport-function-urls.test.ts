import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../../client';
import { regionOfHost, Transport } from '../../client/transport';
import { decodeProduceRequest, encodeFetchRequest, encodeProduceResponse } from '../../shared/api/framing';

const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/';
const PRODUCE_URL = 'https://prod4f5wq.lambda-url.us-west-2.on.aws/';
const FETCH_URL = 'https://fetch7x9zz.lambda-url.us-west-2.on.aws/';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' };

interface Seen {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A fetch double that records each request as sent and answers what the route expects. */
function recordingFetch(seen: Seen[]): typeof fetch {
  return (async (input: URL, init: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = init.body ? Buffer.from(init.body as Uint8Array) : Buffer.alloc(0);
    seen.push({ method: init.method ?? 'GET', url: new URL(input), headers, body });
    if (input.pathname.endsWith('/v1/produce')) {
      const parts = decodeProduceRequest(body);
      const answer = encodeProduceResponse(
        parts.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          baseOffset: 0,
          lastOffset: 0,
          duplicate: false,
        })),
      );
      return new Response(answer, { headers: { 'content-type': 'application/octet-stream' } });
    }
    return new Response(JSON.stringify({ partitionCount: 1, partitions: [] }), {
      headers: { 'content-type': 'application/json' },
    });
  }) as unknown as typeof fetch;
}

/** Signs the recorded request again with the AWS SDK's signer, at its own date: the signatures must match. */
async function expectValidSignature(req: Seen, service: string, region: string): Promise<void> {
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256 });
  const {
    authorization,
    'x-amz-date': date,
    'x-amz-security-token': _t,
    'x-amz-content-sha256': _c,
    ...rest
  } = req.headers;
  const signingDate = new Date(
    `${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6, 8)}T${date!.slice(9, 11)}:${date!.slice(11, 13)}:${date!.slice(13, 15)}Z`,
  );
  const query: Record<string, string> = {};
  for (const [k, v] of req.url.searchParams) query[k] = v;
  const again = await signer.sign(
    {
      method: req.method,
      protocol: req.url.protocol,
      hostname: req.url.hostname,
      path: req.url.pathname,
      query,
      // content-length is signed and then left to fetch to set, when there is a body
      headers: {
        ...rest,
        ...(req.body.length > 0 ? { 'content-length': String(req.body.length) } : {}),
        host: req.url.host,
      },
      body: req.body.length > 0 ? req.body : undefined,
    },
    { signingDate },
  );
  expect(authorization).toBe(again.headers.authorization);
}

describe('Class: Transport (function URLs)', () => {
  it('reads the region of a function URL host', () => {
    expect(regionOfHost('prod4f5wq.lambda-url.us-west-2.on.aws')).toBe('us-west-2');
    expect(regionOfHost('x.execute-api.eu-west-1.amazonaws.com')).toBe('eu-west-1');
  });

  it('sends produce to the produce function URL, signed for service lambda in its region; the rest to the API', async () => {
    // Prepare
    const seen: Seen[] = [];
    const sluice = new Sluice(
      {
        endpoint: API,
        credentials,
        fetch: recordingFetch(seen),
        functionUrls: { produce: PRODUCE_URL, fetch: FETCH_URL },
      },
      {},
    );
    const producer = sluice.producer({ profile: 'latency' });

    // Act
    await producer.send({ topic: 'orders', messages: [{ value: 'hello' }] });
    await producer.disconnect();

    // Assess: the topic's metadata from the API (execute-api, eu-west-1)
    const describe = seen.find((r) => r.method === 'GET')!;
    expect(describe.url.href).toBe(`${API}v1/topics/orders`);
    expect(describe.headers.authorization).toMatch(
      /Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
    );
    await expectValidSignature(describe, 'execute-api', 'eu-west-1');
    // …the records to the function URL (lambda, us-west-2), host signed, body hashed
    const produce = seen.find((r) => r.method === 'POST')!;
    expect(produce.url.href).toBe(`${PRODUCE_URL}v1/produce`);
    expect(produce.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/lambda\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(produce.headers['x-amz-content-sha256']).toBe(
      createHash('sha256').update(produce.body).digest('hex'),
    );
    expect(produce.headers['x-amz-security-token']).toBe('session');
    await expectValidSignature(produce, 'lambda', 'us-west-2');
  });

  it('sends the fetch routes to the fetch function URL and admin routes to the API', async () => {
    const seen: Seen[] = [];
    const transport = new Transport({
      endpoint: API,
      credentials,
      fetch: recordingFetch(seen),
      functionUrls: { produce: PRODUCE_URL, fetch: FETCH_URL },
    });

    await transport.request({
      method: 'POST',
      path: '/v1/fetch',
      body: encodeFetchRequest({
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1024,
        partitions: [{ topic: 'orders', partition: 0, offset: 0, maxBytes: 1024 }],
      }),
      contentType: 'application/octet-stream',
    });
    await transport.request({
      method: 'GET',
      path: '/v1/topics/orders/partitions/0/batches',
      query: { offset: 5 },
    });
    await transport.request({ method: 'GET', path: '/v1/topics/orders/partitions/0/offsets' });
    await transport.request({
      method: 'POST',
      path: '/v1/topics/orders/partitions/0/batches',
      body: Buffer.from('x'),
    });

    expect(seen.map((r) => `${r.method} ${r.url.host}${r.url.pathname}`)).toEqual([
      'POST fetch7x9zz.lambda-url.us-west-2.on.aws/v1/fetch',
      'GET fetch7x9zz.lambda-url.us-west-2.on.aws/v1/topics/orders/partitions/0/batches',
      'GET abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/topics/orders/partitions/0/offsets',
      'POST prod4f5wq.lambda-url.us-west-2.on.aws/v1/topics/orders/partitions/0/batches',
    ]);
    for (const r of seen) {
      const lambda = r.url.host.includes('lambda-url');
      expect(r.headers.authorization).toContain(
        lambda ? '/us-west-2/lambda/aws4_request' : '/eu-west-1/execute-api/',
      );
      await expectValidSignature(r, lambda ? 'lambda' : 'execute-api', lambda ? 'us-west-2' : 'eu-west-1');
    }
    transport.close();
  });

  it('refuses a function URL that is not an http(s) URL, naming the option', () => {
    expect(() => new Transport({ endpoint: API, credentials, functionUrls: { fetch: 'ftp://x' } })).toThrow(
      /functionUrls\.fetch must be an http\(s\) URL/,
    );
  });
});
