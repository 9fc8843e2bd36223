"""A confluent-kafka consumer in a group, committing after each record it processed (at-least-once).

Prints `ASSIGNED <partitions>` on each assignment (with cooperative-sticky: each incremental one),
`REVOKED <partitions>` on each revocation and `GOT <partition> <offset> <value>` for each record
once processed, then commits that record's offset synchronously. Runs until killed.
"""
import sys

from confluent_kafka import Consumer, KafkaException

bootstrap, group, topic, name = sys.argv[1:5]
strategy = sys.argv[5] if len(sys.argv) > 5 else 'range,roundrobin'
consumer = Consumer({
    'partition.assignment.strategy': strategy,
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'client.id': name,
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 500,
    'fetch.wait.max.ms': 100,
})


def on_assign(c, partitions):
    print('ASSIGNED', ','.join(str(p.partition) for p in partitions), flush=True)


def on_revoke(c, partitions):
    print('REVOKED', ','.join(str(p.partition) for p in partitions), flush=True)


consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
while True:
    msg = consumer.poll(0.2)
    if msg is None:
        continue
    if msg.error():
        print('ERROR', msg.error(), flush=True)
        continue
    print('GOT', msg.partition(), msg.offset(), msg.value().decode(), flush=True)
    try:
        consumer.commit(message=msg, asynchronous=False)
    except KafkaException as e:
        # As against Kafka: a commit during a rebalance (REBALANCE_IN_PROGRESS) or after losing the
        # partition (ILLEGAL_GENERATION) fails; the record is redelivered to its next owner.
        print('COMMIT-FAILED', msg.partition(), msg.offset(), e.args[0].name(), flush=True)
