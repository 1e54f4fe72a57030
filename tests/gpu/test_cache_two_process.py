"""The correctness suite through the disk cache of a second process (issue 4).

Runs tests/gpu/test_attention.py twice, each time in a new process, with one
fresh FLASHCORE_CACHE_DIR. The first process compiles every kernel and writes
it to the cache; the second must compile nothing and read every kernel from
disk, and both suites must pass. Counters come from flashcore_get_cache_stats
(each child prints them as JSON), the log lines from FLASHCORE_LOG=1.

  python3 tests/gpu/test_cache_two_process.py [--quick] [--json out.json]

Exit code 0: both runs passed and the second was served from disk; 1: a
failure; 77: skipped (no torch or no CUDA device).
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
from gpu_skip import SKIP, torch_or_skip
MARK = "CACHE-STATS "



def child(suite_args):
    """Runs the suite in this process, then prints the cache counters."""
    sys.path.insert(0, HERE)
    import test_attention
    import flashcore
    sys.argv = [os.path.join(HERE, "test_attention.py")] + suite_args
    rc = test_attention.main()
    out = flashcore.cache_stats()
    out["rc"] = rc
    out["directory"] = flashcore.cache_directory()
    print(MARK + json.dumps(out), flush=True)
    return rc


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the suite's quick subset")
    parser.add_argument("--json", help="write both runs' counters here")
    args = parser.parse_args()
    torch = torch_or_skip()
    if torch is None:
        return SKIP

    cache = tempfile.mkdtemp(prefix="flashcore-cache2proc-")
    env = dict(os.environ, FLASHCORE_CACHE_DIR=cache, FLASHCORE_LOG="1", PYTHONUNBUFFERED="1")
    env.pop("FLASHCORE_DISK_CACHE", None)
    env.pop("FLASHCORE_SPEC", None)
    runs = []
    try:
        for n in (1, 2):
            print("=== process %d (FLASHCORE_CACHE_DIR=%s)" % (n, cache), flush=True)
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"] +
                               (["--quick"] if args.quick else []),
                               env=env, capture_output=True, text=True)
            sys.stdout.write("".join(l + "\n" for l in p.stdout.splitlines() if not l.startswith(MARK)))
            log = [l for l in p.stderr.splitlines() if l.startswith("flashcore:")]
            other = [l for l in p.stderr.splitlines() if not l.startswith("flashcore:")]
            if other:
                sys.stdout.write("stderr:\n" + "\n".join(other[-20:]) + "\n")
            stats = [json.loads(l[len(MARK):]) for l in p.stdout.splitlines() if l.startswith(MARK)]
            run = stats[0] if stats else {"rc": p.returncode}
            run["exit_code"] = p.returncode
            run["log_compiled"] = sum("compiled in" in l for l in log)
            run["log_disk_hits"] = sum("disk hit" in l for l in log)
            run["log_warnings"] = [l for l in log if "warning" in l]
            runs.append(run)
        entries = len(glob.glob(os.path.join(cache, "*.fckernel")))
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    first, second = runs
    checks = [
        ("process 1: suite passed", first.get("rc") == 0 and first["exit_code"] == 0),
        ("process 2: suite passed", second.get("rc") == 0 and second["exit_code"] == 0),
        ("process 1 compiled its kernels", first.get("compiles", 0) > 0),
        ("process 1 wrote each kernel once", first.get("disk_writes") == first.get("compiles")),
        ("process 1 used the fresh directory", first.get("directory") == cache),
        ("process 2 compiled nothing", second.get("compiles") == 0),
        ("process 2 read every kernel from disk", second.get("disk_hits") == first.get("compiles")),
        ("no entry was rejected", first.get("disk_rejected") == 0 and second.get("disk_rejected") == 0),
        ("FLASHCORE_LOG agrees", second["log_disk_hits"] == second.get("disk_hits")
         and second["log_compiled"] == 0),
        ("one entry per kernel on disk", entries == first.get("compiles")),
        ("no warnings", not first["log_warnings"] and not second["log_warnings"]),
    ]
    print("| process | compiles | disk hits | memory hits | disk writes | rejected | suite |")
    print("|---|---|---|---|---|---|---|")
    for n, r in enumerate(runs, 1):
        print("| %d | %s | %s | %s | %s | %s | %s |" % (
            n, r.get("compiles"), r.get("disk_hits"), r.get("memory_hits"), r.get("disk_writes"),
            r.get("disk_rejected"), "PASS" if r.get("rc") == 0 else "FAIL"))
    for what, ok in checks:
        print("%s %s" % ("ok  " if ok else "FAIL", what))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, "entries": entries,
                       "checks": {w: ok for w, ok in checks}}, f, indent=1)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
