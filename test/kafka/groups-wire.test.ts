import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_ERRORS } from '../../shared/kafka/protocol/errors';
import { RawKafkaConnection } from './support';
import { type GroupsTestStack, startGroupsTestStack } from './support-groups';

/**
 * The versions of the group APIs the tested clients do not send (the Java client's): FindCoordinator v4
 * with batched keys, OffsetCommit v8 and OffsetFetch v8 (several groups, flexible encoding),
 * OffsetDelete v0 and ListGroups v5's type filter, byte by byte over a raw connection.
 */

let t: GroupsTestStack;
let port: number;
beforeAll(async () => {
  t = await startGroupsTestStack();
  port = Number(t.bootstrap.split(':')[1]);
}, 30_000);
afterAll(async () => {
  await t?.stop();
});

describe('Kafka group APIs on the wire', () => {
  it('FindCoordinator v4 answers every key with the listener', async () => {
    const c = await RawKafkaConnection.connect(port);
    const { body } = await c.request(
      10,
      4,
      (w) =>
        w
          .int8(0)
          .array(['g1', 'g2'], (w, k) => w.string(k))
          .taggedFields(),
      { flexible: true },
    );
    c.close();
    body.int32(); // ThrottleTimeMs
    const coordinators = body.array((r) => {
      const out = {
        key: r.string(),
        nodeId: r.int32(),
        host: r.string(),
        port: r.int32(),
        errorCode: r.int16(),
      };
      r.nullableString();
      r.taggedFields();
      return out;
    });
    expect(coordinators).toEqual([
      { key: 'g1', nodeId: 0, host: '127.0.0.1', port, errorCode: 0 },
      { key: 'g2', nodeId: 0, host: '127.0.0.1', port, errorCode: 0 },
    ]);
  });

  it('OffsetCommit v8 (no group management) and OffsetFetch v8 for two groups; OffsetDelete; ListGroups v5', async () => {
    const topic = `wire-${Date.now()}`;
    await t.services.log.createTopic({ name: topic, partitionCount: 2 });
    const c = await RawKafkaConnection.connect(port);
    for (const [group, offset] of [
      ['wire-a', 5],
      ['wire-b', 7],
    ] as const) {
      const { body } = await c.request(
        8,
        8,
        (w) => {
          w.string(group).int32(-1).string('').nullableString(null);
          w.array([topic], (w, name) => {
            w.string(name).array([0, 1], (w, p) =>
              w
                .int32(p)
                .int64(offset + p)
                .int32(-1)
                .nullableString('meta')
                .taggedFields(),
            );
            w.taggedFields();
          });
          w.taggedFields();
        },
        { flexible: true },
      );
      body.int32();
      const errors = body.array((r) => {
        r.string();
        const codes = r.array((r) => {
          r.int32();
          const code = r.int16();
          r.taggedFields();
          return code;
        });
        r.taggedFields();
        return codes;
      });
      expect(errors).toEqual([[0, 0]]);
    }
    const fetched = await c.request(
      9,
      8,
      (w) => {
        w.array(['wire-a', 'wire-b', 'wire-none'], (w, g) => {
          w.string(g).array([topic], (w, name) =>
            w
              .string(name)
              .array([0, 1], (w, p) => w.int32(p))
              .taggedFields(),
          );
          w.taggedFields();
        });
        w.bool(false).taggedFields();
      },
      { flexible: true },
    );
    const r = fetched.body;
    r.int32();
    const groups = r.array((r) => {
      const groupId = r.string();
      const offsets = r
        .array((r) => {
          r.string();
          const parts = r.array((r) => {
            const p = { partition: r.int32(), offset: Number(r.int64()) };
            r.int32();
            r.nullableString();
            r.int16();
            r.taggedFields();
            return p;
          });
          r.taggedFields();
          return parts;
        })
        .flat();
      const errorCode = r.int16();
      r.taggedFields();
      return { groupId, offsets: offsets.map((o) => o.offset), errorCode };
    });
    expect(groups).toEqual([
      { groupId: 'wire-a', offsets: [5, 6], errorCode: 0 },
      { groupId: 'wire-b', offsets: [7, 8], errorCode: 0 },
      { groupId: 'wire-none', offsets: [-1, -1], errorCode: 0 },
    ]);

    const deleted = await c.request(47, 0, (w) => {
      w.string('wire-a').array([topic], (w, name) => w.string(name).array([1], (w, p) => w.int32(p)));
    });
    expect(deleted.body.int16()).toBe(KAFKA_ERRORS.NONE);
    expect((await t.services.groups.fetchOffsets('wire-a')).offsets.map((o) => o.partition)).toEqual([0]);

    const listed = await c.request(
      16,
      5,
      (w) =>
        w
          .array([], () => {})
          .array(['classic'], (w, s) => w.string(s))
          .taggedFields(),
      {
        flexible: true,
      },
    );
    listed.body.int32();
    expect(listed.body.int16()).toBe(0);
    const names = listed.body.array((r) => {
      const g = { groupId: r.string(), protocolType: r.string(), state: r.string(), type: r.string() };
      r.taggedFields();
      return g;
    });
    c.close();
    expect(names.filter((g) => g.groupId.startsWith('wire-'))).toEqual([
      { groupId: 'wire-a', protocolType: '', state: 'Empty', type: 'classic' },
      { groupId: 'wire-b', protocolType: '', state: 'Empty', type: 'classic' },
    ]);
  });
});
