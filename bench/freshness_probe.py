#!/usr/bin/env python3
"""The freshness benchmark's probe: how long after an event is produced a
lookup reflects it. Every INTERVAL seconds it sends one JSON view for a user
no other event names (linger.ms=0, so the producer does not wait), then asks
featmond for that user over one keep-alive connection until views_1h is 1.
Prints "p50_ms=.. p99_ms=.. max_ms=.. probes=N missed=M"; a probe not seen
within 10 s counts as missed (and as 10 s in the percentiles).

usage: freshness_probe.py BROKERS HTTP_PORT SECONDS [INTERVAL]
"""
import http.client
import json
import sys
import time

from confluent_kafka import Producer

TIMEOUT_S = 10.0


def main():
    brokers, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 0, "acks": "all"})
    conn = http.client.HTTPConnection("127.0.0.1", port)
    run = "%x" % time.time_ns()
    latencies, missed, end = [], 0, time.time() + seconds
    n = 0
    while time.time() < end:
        user = "probe-%s-%d" % (run, n)
        n += 1
        sent = time.time()
        event = {"user_id": user, "item_id": "probe-item", "ts_ms": int(sent * 1000)}
        producer.produce("views", key=user, value=json.dumps(event))
        producer.flush(5)
        while True:
            conn.request("GET", "/v1/features/user/" + user)
            body = json.loads(conn.getresponse().read())
            waited = time.time() - sent
            if body.get("features", {}).get("views_1h") == 1:
                latencies.append(waited)
                break
            if waited > TIMEOUT_S:
                latencies.append(TIMEOUT_S)
                missed += 1
                break
            time.sleep(0.001)
        time.sleep(max(0.0, interval - (time.time() - sent)))
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print("p50_ms=%.1f p99_ms=%.1f max_ms=%.1f probes=%d missed=%d" % (pick(0.5), pick(0.99), latencies[-1] * 1000,
                                                                     len(latencies), missed))


if __name__ == "__main__":
    main()
