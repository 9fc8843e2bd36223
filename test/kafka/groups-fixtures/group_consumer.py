"""A confluent-kafka consumer in a group, committing after each record it processed (at-least-once).

Prints `ASSIGNED <partitions>` on each assignment and `GOT <partition> <offset> <value>` for each record
once processed, then commits that record's offset synchronously. Runs until killed.
"""
import sys

from confluent_kafka import Consumer

bootstrap, group, topic, name = sys.argv[1:5]
consumer = Consumer({
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


consumer.subscribe([topic], on_assign=on_assign)
while True:
    msg = consumer.poll(0.2)
    if msg is None:
        continue
    if msg.error():
        print('ERROR', msg.error(), flush=True)
        continue
    print('GOT', msg.partition(), msg.offset(), msg.value().decode(), flush=True)
    consumer.commit(message=msg, asynchronous=False)
