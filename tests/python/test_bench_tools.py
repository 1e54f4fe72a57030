"""bench/ncu_source_summary.py on a synthetic `ncu --page source --csv`
table of two kernels (no GPU, no ncu): the hottest instruction, the per-opcode
shares and the per-instruction stall reasons come out of the right columns.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.normpath(os.path.join(HERE, "..", "..", "bench", "ncu_source_summary.py"))

HEADER = ('"Address","Source","Warp Stall Sampling (All Samples)",'
          '"Warp Stall Sampling (Not-issued Samples)","Instructions Executed",'
          '"stall_long_sb","stall_barrier"\n')


def table(name, rows):
    text = '"%s"\n' % name + HEADER
    for addr, src, samples, long_sb, barrier in rows:
        text += '"%s","%s","%d","%d","100","%d","%d"\n' % (addr, src, samples, samples // 2,
                                                          long_sb, barrier)
    return text


def test_two_kernels(tmp_path):
    csv = tmp_path / "src.csv"
    csv.write_text(
        table("flashcore_attention_fwd", [
            ("0x10", "HGMMA.64x128x16.F32.BF16 R24, gdesc[UR4], RZ", 10, 0, 0),
            ("0x20", "SYNCS.PHASECHK.TRANS64.TRYWAIT P0, [UR8], R3", 70, 60, 0),
            ("0x30", "@P1 BAR.SYNC.DEFER_BLOCKING 0x8, 0x100", 20, 0, 18)]) +
        table("device_kernel", [
            ("0x10", "MUFU.EX2 R5, R4", 40, 0, 0),
            ("0x20", "FFMA R6, R5, R7, R8", 60, 0, 0)]))
    out = subprocess.run([sys.executable, TOOL, str(csv), "--top", "2"], capture_output=True,
                         text=True, check=True).stdout
    blocks = out.split("=== ")[1:]
    assert len(blocks) == 2, out
    first = blocks[0].splitlines()
    assert first[0] == "flashcore_attention_fwd: 3 instructions, 100 stall samples", out
    assert "SYNCS 70.0%" in first[1] and "BAR 20.0%" in first[1], out
    assert first[2].split()[0] == "70.00%" and "TRYWAIT" in first[2] and "stall_long_sb 60" in first[2]
    assert "BAR.SYNC" in first[3] and "stall_barrier 18" in first[3], out
    second = blocks[1].splitlines()
    assert second[0] == "device_kernel: 2 instructions, 100 stall samples", out
    assert second[2].split()[0] == "60.00%" and "FFMA" in second[2], out


def test_no_table(tmp_path):
    csv = tmp_path / "empty.csv"
    csv.write_text('"==PROF== nothing"\n')
    run = subprocess.run([sys.executable, TOOL, str(csv)], capture_output=True, text=True)
    assert run.returncode == 1 and "no source table" in run.stdout
