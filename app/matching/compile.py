"""Compile the matcher's kernels into numba's disk cache before the service starts.

`make run` runs this before uvicorn, so no request waits for a compiler: the first time takes
20 s to 2 min (numba compiles every kernel), later runs load the cache in about half a second. The
cache lives beside the code (or in NUMBA_CACHE_DIR) and is valid for this CPU model and these
sources.
"""

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Compile (or load) every kernel, saying so before and after."""
    parser = argparse.ArgumentParser(prog="python -m app.matching.compile", description=__doc__)
    parser.parse_args(argv)
    print(
        "matcher kernels: compiling or loading from the cache"
        " (the first time on a machine takes 20 s to 2 min) ...",
        flush=True,
    )
    started = time.perf_counter()
    from app.matching import kernels  # numba's import is part of what is timed

    kernels.warm_up()
    print(f"matcher kernels ready in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
