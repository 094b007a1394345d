-- wrk script: single-entity lookups of random users among USERS (default 1M).
local users = tonumber(os.getenv("USERS") or "1000000")
math.randomseed(42)
request = function()
  return wrk.format("GET", "/v1/features/user/u" .. math.random(0, users - 1))
end
done = function(summary, latency, requests)
  io.write(string.format("wrk_rps=%.0f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
