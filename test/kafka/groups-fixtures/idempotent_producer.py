"""An idempotent confluent-kafka producer: sends COUNT records `v<i>` round-robin over PARTITIONS,
printing `ACK <value> <partition> <offset>` for each acknowledged one and `FAIL <value> <error>` for
each that failed for good. Runs until every record is delivered or failed, then prints DONE.
"""
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, count, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
producer = Producer({
    'bootstrap.servers': bootstrap,
    'enable.idempotence': True,
    'acks': 'all',
    'linger.ms': 5,
    'message.timeout.ms': 120000,
    'retry.backoff.ms': 100,
    'reconnect.backoff.ms': 100,
    'reconnect.backoff.max.ms': 500,
    'socket.timeout.ms': 10000,
})


def report(err, msg):
    value = msg.value().decode()
    if err is not None:
        print('FAIL', value, err, flush=True)
    else:
        print('ACK', value, msg.partition(), msg.offset(), flush=True)


for i in range(count):
    while True:
        try:
            producer.produce(topic, value=f'v{i}'.encode(), partition=i % partitions, on_delivery=report)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
    # A steady pace, so that the listener's restart falls mid-run.
    if i % 50 == 49:
        time.sleep(0.05)
producer.flush(120)
print('DONE', len(producer), flush=True)
