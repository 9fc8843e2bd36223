import { beforeAll, describe, expect, it } from 'vitest';
import { createTopic, http, testStackForAll, uniqueName } from './support';

const stack = testStackForAll();
let base: string;
beforeAll(() => {
  base = stack.url;
});

describe('Route: consumer groups', () => {
  it('joins, heartbeats, commits, describes, leaves, resets and deletes', async () => {
    // Prepare
    const topic = await createTopic(base, 4);
    await http(base, 'POST', `/v1/topics/${topic}/records`, {
      body: { records: [{ value: 'a', partition: 0 }] },
    });
    const group = uniqueName('g');
    // Act: one member takes every partition
    const joined = await http(base, 'POST', `/v1/groups/${group}/members`, {
      body: { topics: [topic], sessionTimeoutMs: 10_000 },
    });
    expect(joined.status, joined.body.toString()).toBe(200);
    const { memberId, generation, assignment, heartbeatIntervalMs } = joined.json();
    expect(assignment).toHaveLength(4);
    expect(heartbeatIntervalMs).toBeGreaterThan(0);
    const beat = await http(base, 'POST', `/v1/groups/${group}/members/${memberId}/heartbeat`, {
      body: { generation, owned: assignment },
    });
    expect(beat.status).toBe(200);
    expect(beat.json().assignment).toHaveLength(4);
    const committed = await http(base, 'POST', `/v1/groups/${group}/offsets`, {
      body: { memberId, generation, offsets: [{ topic, partition: 0, offset: 1, metadata: 'm' }] },
    });
    expect(committed.status, committed.body.toString()).toBe(200);
    const fetched = await http(base, 'GET', `/v1/groups/${group}/offsets?topic=${topic}`);
    expect(fetched.json().offsets).toMatchObject([{ topic, partition: 0, offset: 1, metadata: 'm' }]);
    const described = await http(base, 'GET', `/v1/groups/${group}`);
    expect(described.json()).toMatchObject({ group, members: [{ memberId }] });
    expect(described.json().offsets[0]).toMatchObject({
      topic,
      partition: 0,
      committedOffset: 1,
      highWatermark: 1,
      lag: 0,
    });
    const listed = await http(base, 'GET', '/v1/groups');
    expect(listed.json().groups.map((g: { group: string }) => g.group)).toContain(group);
    // Assess the errors on the way
    const nonEmpty = await http(base, 'DELETE', `/v1/groups/${group}`);
    expect(nonEmpty.status).toBe(409);
    expect(nonEmpty.json().error.code).toBe('NON_EMPTY_GROUP');
    const left = await http(base, 'DELETE', `/v1/groups/${group}/members/${memberId}`);
    expect(left.status).toBe(204);
    const zombie = await http(base, 'POST', `/v1/groups/${group}/offsets`, {
      body: { memberId, generation, offsets: [{ topic, partition: 0, offset: 5 }] },
    });
    expect(zombie.status).toBe(409);
    expect(zombie.json().error.code).toBe('FENCED');
    const gone = await http(base, 'POST', `/v1/groups/${group}/members/${memberId}/heartbeat`, {
      body: { generation, owned: [] },
    });
    expect(gone.status).toBe(404);
    expect(gone.json().error.code).toBe('UNKNOWN_MEMBER_ID');
    const reset = await http(base, 'POST', `/v1/groups/${group}/offsets/reset`, {
      body: { topic, to: 'earliest' },
    });
    expect(reset.status, reset.body.toString()).toBe(200);
    expect(reset.json().offsets).toHaveLength(4);
    expect((await http(base, 'DELETE', `/v1/groups/${group}`)).status).toBe(204);
    expect((await http(base, 'GET', `/v1/groups/${group}`)).status).toBe(404);
  });

  it('rejects unknown fields at every level, bad names and bad numbers, writing nothing', async () => {
    const topic = await createTopic(base, 1);
    const group = uniqueName('g');
    const cases: [string, string, unknown, number, string][] = [
      ['POST', `/v1/groups/${group}/members`, { topics: [topic], extra: 1 }, 400, 'INVALID_REQUEST'],
      [
        'POST',
        `/v1/groups/${group}/members`,
        { topics: [topic], sessionTimeoutMs: '10000' },
        400,
        'INVALID_REQUEST',
      ],
      ['POST', `/v1/groups/${group}/members`, { topics: ['..'] }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/groups/%2e%2e/members', { topics: [topic] }, 400, 'INVALID_GROUP_ID'],
      ['POST', '/v1/groups/a%2Fb/members', { topics: [topic] }, 400, 'INVALID_GROUP_ID'],
      [
        'POST',
        `/v1/groups/${group}/members/m/heartbeat`,
        { generation: 1, owned: [{ topic, partition: 0, x: 1 }] },
        400,
        'INVALID_REQUEST',
      ],
      [
        'POST',
        `/v1/groups/${group}/members/m/heartbeat`,
        { generation: -1, owned: [] },
        400,
        'INVALID_REQUEST',
      ],
      [
        'POST',
        `/v1/groups/${group}/offsets`,
        { memberId: 'm', generation: 1, offsets: [{ topic, partition: 0, offset: 1e100 }] },
        400,
        'INVALID_REQUEST',
      ],
      [
        'POST',
        `/v1/groups/${group}/offsets`,
        { memberId: 'm', generation: 1, offsets: [], __proto__x: 1 },
        400,
        'INVALID_REQUEST',
      ],
      ['POST', `/v1/groups/${group}/offsets/reset`, { topic, to: { offset: -1 } }, 400, 'INVALID_REQUEST'],
      ['POST', `/v1/groups/${group}/offsets/reset`, { topic, to: 'newest' }, 400, 'INVALID_REQUEST'],
      ['GET', `/v1/groups/${group}/offsets?topic=..`, undefined, 400, 'INVALID_TOPIC'],
      ['GET', `/v1/groups/${group}/offsets?group=x`, undefined, 400, 'INVALID_REQUEST'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await http(base, method, path, body === undefined ? {} : { body: body as object });
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}: ${res.body}`).toBe(status);
      expect(res.json().error.code).toBe(code);
    }
    expect((await http(base, 'GET', `/v1/groups/${group}`)).status).toBe(404);
  });
});
