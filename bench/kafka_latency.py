"""End-to-end latency from a Kafka producer to a Kafka consumer, both confluent-kafka (librdkafka),
through Sluice's Kafka listener: bench/kafka.ts runs it.

    python3 kafka_latency.py BOOTSTRAP TOPIC RECORDS_PER_SEC SECONDS

The consumer is assigned partition 0 at its end before the producer starts; each record carries its
send time; the consumer prints one JSON line with every latency in milliseconds.
"""
import json
import sys
import threading
import time

from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

bootstrap, topic, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
total = int(rate * seconds)

consumer = Consumer({
    'bootstrap.servers': bootstrap,
    'group.id': 'unused-assign-only',
    'enable.auto.commit': False,
    'fetch.wait.max.ms': 500,
    'fetch.min.bytes': 1,
})
consumer.assign([TopicPartition(topic, 0, OFFSET_END)])
# Let the consumer resolve its position before anything is produced.
deadline = time.time() + 5
while time.time() < deadline and not consumer.assignment():
    consumer.poll(0.1)
consumer.poll(0.5)

latencies = []


def produce():
    producer = Producer({'bootstrap.servers': bootstrap, 'linger.ms': 5, 'acks': 'all'})
    start = time.time()
    for i in range(total):
        target = start + i / rate
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        producer.produce(topic, partition=0, value=repr(time.time()).encode())
        producer.poll(0)
    producer.flush(15)


thread = threading.Thread(target=produce)
thread.start()
deadline = time.time() + seconds + 15
while len(latencies) < total and time.time() < deadline:
    msg = consumer.poll(0.2)
    if msg is None or msg.error():
        continue
    latencies.append((time.time() - float(msg.value().decode())) * 1000)
thread.join()
consumer.close()
print(json.dumps({'sent': total, 'received': len(latencies), 'latenciesMs': latencies}))
