"""How steady this machine is: one fixed numpy workload (~0.25 ms) timed many times.

    .venv/bin/python scripts/noise_probe.py [--calls 3000]

The work never changes, so any spread in its timings is the machine's (other processes,
the hypervisor, frequency changes), not the code's. Prints percentiles and the number of
calls slower than 3x the median as JSON; read it beside a benchmark's p99.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/noise_probe.py", description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args(argv)
    data = np.random.default_rng(0).random(20_000)
    timings = []
    for _ in range(args.calls):
        started = time.perf_counter()
        np.sort(data)
        timings.append((time.perf_counter() - started) * 1000)
    values = np.array(timings)
    p50, p99, p999 = np.percentile(values, [50, 99, 99.9])
    slow = np.flatnonzero(values > 3 * p50)
    runs = int(np.count_nonzero(np.diff(slow) > 1)) + 1 if len(slow) else 0
    print(
        json.dumps(
            {
                "calls": args.calls,
                "ms": {"p50": round(p50, 3), "p99": round(p99, 3), "p99.9": round(p999, 3)},
                "max_ms": round(float(values.max()), 3),
                "slower_than_3x_median": len(slow),
                "in_runs_of_consecutive_calls": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
