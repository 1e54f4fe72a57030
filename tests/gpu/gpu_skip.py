"""The skip decision every GPU script makes first (exit code 77 = skipped).

Importing it also makes `import flashcore` work in the scripts (see
_find_flashcore). `torch_or_skip(min_devices, custom_op)` returns the torch module, or None after printing
why the script is skipped: "skipped: no CUDA device" where there is none (also
when torch is missing and nvidia-smi finds no GPU), else what is missing.
`run_check` runs one named check of a suite and records and prints its row.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import traceback

SKIP = 77

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def _find_flashcore():
    """`import flashcore` finds an installed package (pip, PYTHONPATH) first,
    else the build tree's (build/python, or $FLASHCORE_BUILD_DIR/python)."""
    if importlib.util.find_spec("flashcore") is None:
        build = os.environ.get("FLASHCORE_BUILD_DIR", os.path.join(ROOT, "build"))
        sys.path.insert(0, os.path.join(build, "python"))


_find_flashcore()


def torch_or_skip(min_devices=1, custom_op=False):
    """custom_op: also skip when torch lacks torch.library.custom_op (< 2.4),
    which FlashCore's PyTorch ops need."""
    try:
        import torch
    except ImportError:
        smi = shutil.which("nvidia-smi")
        if smi is None or subprocess.run([smi, "-L"], capture_output=True).returncode != 0:
            print("skipped: no CUDA device")
        else:
            print("skipped: torch is not installed (needed for the reference and the peers)")
        return None
    found = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if found == 0:
        print("skipped: no CUDA device")
        return None
    if found < min_devices:
        print("skipped: needs %d CUDA devices, found %d" % (min_devices, found))
        return None
    if custom_op and not hasattr(torch.library, "custom_op"):
        print("skipped: torch %s has no torch.library.custom_op (needs >= 2.4)" % torch.__version__)
        return None
    return torch


def run_check(results, name, fn, args=(), hidden=("test", "pass", "trace")):
    """Runs fn(*args) as the check `name`: appends its row ({"test": name, the
    details fn returns, "pass"}; an exception fails it with the error and the
    end of its traceback) to `results`, prints PASS/FAIL with the details
    except `hidden`, and returns whether it passed."""
    row = {"test": name}
    try:
        row.update(fn(*args) or {})
        row["pass"] = bool(row.get("pass", True))
    except Exception as e:  # a failing check or an unexpected error
        row["pass"] = False
        row["error"] = "%s: %s" % (type(e).__name__, str(e)[:400])
        row["trace"] = traceback.format_exc()[-1500:]
    results.append(row)
    extra = {k: v for k, v in row.items() if k not in hidden}
    print("%s %s %s" % ("PASS" if row["pass"] else "FAIL", name, json.dumps(extra, default=str)),
          flush=True)
    return row["pass"]
