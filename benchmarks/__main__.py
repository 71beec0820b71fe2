"""Run the benchmark suite: ``python -m benchmarks [--size small] [--only NAME ...] [--json PATH]``.

Prints one row per case: the compile time of the mlmath program, its steady-state median
time, the reference's median time measured in the same run, and the speed-up
(reference time / mlmath time). Runs on whatever device JAX finds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

import jax
import jax.numpy as jnp

from benchmarks import cases as benchmark_cases
from benchmarks._harness import format_table, run_case, settle_thread_pools


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", default="small", choices=benchmark_cases.SIZES,
                        help="problem size (default: small)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help=f"run only these: {', '.join(benchmark_cases.ALL)}")
    parser.add_argument("--repeats", type=int, default=5,
                        help="minimum timed repetitions per side (default: 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--threads", choices=("settle", "as-found"), default="settle",
                        help="give every BLAS library but NumPy's one thread before timing "
                             "(settle, the default) or leave the thread pools as found")
    options = parser.parse_args(argv)

    devices = jax.devices()
    print(f"mlmath benchmarks  size={options.size}  jax {jax.__version__}  "
          f"python {platform.python_version()}")
    print(f"device: {devices[0].platform} ({devices[0].device_kind}) x{len(devices)}  "
          f"x64={'on' if jax.config.jax_enable_x64 else 'off'}")
    selected = benchmark_cases.build(options.size, options.only)
    if options.threads == "settle":
        jnp.linalg.cholesky(jnp.eye(2)).block_until_ready()  # load JAX's LAPACK first
        print(f"threads: {settle_thread_pools()}")
    else:
        print("threads: as found")
    print()
    results = []
    for case in selected:
        results.append(run_case(case, repeats=options.repeats))
        print(f"  done: {case.name} vs {case.reference_name}", file=sys.stderr)
    print(format_table(results))
    for result in results:
        if result.notes:
            print(f"  note ({result.name} vs {result.reference_name}): {result.notes}")
    if options.json:
        payload = {
            "size": options.size,
            "jax": jax.__version__,
            "device": f"{devices[0].platform} ({devices[0].device_kind})",
            "results": [r.as_dict() for r in results],
        }
        with open(options.json, "w") as handle:
            json.dump(payload, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
