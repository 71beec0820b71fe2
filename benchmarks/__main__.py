"""Run the benchmark suite: ``python -m benchmarks [--size small] [--only NAME ...] [--json PATH]``.

Prints one row per case: the compile time of the mlmath program, its steady-state median
time, the reference's median time measured in the same run, and the speed-up
(reference time / mlmath time). Then the ``first_call`` table, which has no reference:
first and second call of the README's tour, of calls with latency targets and of every
estimator, each group in fresh processes, with and without the persistent compilation
cache (``benchmarks/first_call.py``). Runs on whatever device JAX finds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

import jax
import jax.numpy as jnp

from benchmarks import cases as benchmark_cases
from benchmarks import first_call
from benchmarks._harness import Case, format_table, run_case, settle_thread_pools
from benchmarks.first_call import format_report as format_first_call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", default="small", choices=benchmark_cases.SIZES,
                        help="problem size (default: small)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help=f"run only these: {', '.join(benchmark_cases.ALL)}")
    parser.add_argument("--repeats", type=int, default=5,
                        help="minimum timed repetitions per side (default: 5)")
    parser.add_argument("--processes", type=int, metavar="N",
                        help="fresh processes per first_call group (default: 3, 1 at tiny)")
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
    for case in (c for c in selected if isinstance(c, Case)):
        results.append(run_case(case, repeats=options.repeats))
        print(f"  done: {case.name} vs {case.reference_name}", file=sys.stderr)
    if results:
        print(format_table(results))
    for result in results:
        if result.notes:
            print(f"  note ({result.name} vs {result.reference_name}): {result.notes}")
    reports = [
        first_call.run(case, options.processes, settle_threads=options.threads == "settle",
                       progress=lambda message: print(f"  done: {message}", file=sys.stderr))
        for case in selected if isinstance(case, first_call.FirstCallCase)
    ]
    for report in reports:
        print()
        print(format_first_call(report))
    if options.json:
        payload = {
            "size": options.size,
            "jax": jax.__version__,
            "device": f"{devices[0].platform} ({devices[0].device_kind})",
            "results": [r.as_dict() for r in results],
        }
        if reports:
            payload["first_call"] = reports[0].as_dict()
        with open(options.json, "w") as handle:
            json.dump(payload, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
