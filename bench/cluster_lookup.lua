-- wrk script: single-user lookups of random users from USERS_FILE (one id a line).
local users = {}
for line in io.lines(os.getenv("USERS_FILE")) do users[#users + 1] = line end
math.randomseed(42)
request = function()
  return wrk.format("GET", "/v1/features/user/" .. users[math.random(1, #users)])
end
done = function(summary, latency, requests)
  io.write(string.format("wrk_rps=%.0f p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
