"""wrk, the HTTP load generator, as bench/webhooks.py drives it: a Lua script, a run, totals."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

# The connection count of the measurements in ARCHITECTURE.md section 9.
CONNECTIONS = 16
THREADS = 2

# wrk script: each thread walks its own slice of the prepared requests and
# reports requests, non-2xx answers and latency percentiles as JSON. The
# requests are read line by line: LuaJIT refuses a table literal of 80k rows.
WRK_SCRIPT = """
local requests = {}
for line in io.lines("%(data)s") do
  table.insert(requests, {line:match("([^\t]*)\t([^\t]*)\t(.*)")})
end
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  index = id + %(offset)d
end
function request()
  local item = requests[(index - 1) %% #requests + 1]
  index = index + %(threads)d
  return wrk.format("POST", item[1], {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = item[2],
  }, item[3])
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests": %%d, "failed": %%d, "seconds": %%f, "p50_ms": %%f, "p99_ms": %%f}\\n',
    summary.requests, bad, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_check() -> None:
    """Stop at once, saying how to install it, when wrk (the load generator) is missing."""
    if shutil.which("wrk") is None:
        sys.exit(
            "bench/webhooks.py needs wrk, the HTTP load generator: "
            "apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)."
        )


def wrk_run(url: str, script: Path, seconds: int) -> dict:
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def wrk_total(slices: list[dict]) -> dict:
    """One figure from the slices of a load; p99 is the worst slice's (an upper bound)."""
    total = {key: sum(part[key] for part in slices) for key in ("requests", "failed")}
    seconds = sum(part["seconds"] for part in slices)
    return total | {
        "rps": total["requests"] / seconds,
        "p99_ms": max(part["p99_ms"] for part in slices),
    }
