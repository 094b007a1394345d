#!/usr/bin/env python3
"""The JSON ingest benchmark's peer: what a team might write instead of
featmond. A confluent-kafka consumer reads the views and clicks topics from
the beginning, parses each JSON event and keeps the same kind of counts in
dicts (views and clicks per user and per item, per hour tile), with no
persistence and no exactly-once. Prints "rate=<events/s> seconds=<s>" from
the first message to the last.

usage: python_consumer.py BROKERS EXPECTED_EVENTS [TOPIC ...]
"""
import json
import sys
import time
from collections import defaultdict

from confluent_kafka import Consumer


def main():
    brokers, expected = sys.argv[1], int(sys.argv[2])
    topics = sys.argv[3:] or ["views", "clicks"]
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "python-peer-%d" % time.time_ns(),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe(topics)
    counts = {t: (defaultdict(int), defaultdict(int)) for t in topics}  # per (user, hour), per (item, hour)
    seen, first, deadline = 0, None, time.time() + 600
    while seen < expected and time.time() < deadline:
        for msg in consumer.consume(num_messages=10000, timeout=0.5):
            if msg.error():
                continue
            if first is None:
                first = time.time()
            event = json.loads(msg.value())
            hour = int(event.get("ts_ms", event.get("tsMs", 0))) // 3_600_000
            users, items = counts[msg.topic()]
            users[(event.get("user_id") or event.get("userId"), hour)] += 1
            items[(event.get("item_id") or event.get("itemId"), hour)] += 1
            seen += 1
    elapsed = time.time() - (first or time.time())
    consumer.close()
    if seen < expected:
        sys.exit("python peer: read %d of %d events" % (seen, expected))
    print("rate=%d seconds=%.2f" % (seen / elapsed, elapsed))


if __name__ == "__main__":
    main()
