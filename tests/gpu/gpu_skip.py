"""The skip decision every GPU script makes first (exit code 77 = skipped).

`torch_or_skip(min_devices)` returns the torch module, or None after printing
why the script is skipped: "skipped: no CUDA device" where there is none (also
when torch is missing and nvidia-smi finds no GPU), else what is missing.
"""
import shutil
import subprocess

SKIP = 77


def torch_or_skip(min_devices=1):
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
    return torch
