#!/usr/bin/env python3
"""Writes RESP commands that load the same user features featmond serves into
Redis, one hash per user (what Feast's Redis online store does), keyed
user:%012d so redis-benchmark's __rand_int__ can address them. Values are the
ones featmond returns for a typical user of the benchmark's traffic."""
import sys

users = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = sys.stdout.buffer
fields = [(b"views_1h", b"1"), (b"clicks_1h", b"0"), (b"views_24h", b"2"), (b"clicks_24h", b"0"),
          (b"views_7d", b"2"), (b"clicks_7d", b"0"), (b"ctr_24h", b"0.5"), (b"ctr_7d", b"0.5"),
          (b"last_clicked_items", b'["i9"]'), (b"distinct_items_viewed_24h", b"2"),
          (b"last_event_ts_ms", b"1795270932865")]
def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)
tail = b"".join(bulk(k) + bulk(v) for k, v in fields)
head = b"*%d\r\n" % (2 + 2 * len(fields)) + bulk(b"HSET")
for u in range(users):
    out.write(head + bulk(b"user:%012d" % u) + tail)
