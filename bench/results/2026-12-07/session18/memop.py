# Per-call cost of resetting a 4-byte counter before a ~200 us kernel: memset kernel vs stream write vs nothing.
import ctypes, torch, statistics
cuda = ctypes.CDLL("libcuda.so.1")
cuda.cuStreamWriteValue32_v2.restype = ctypes.c_int
cuda.cuStreamWriteValue32_v2.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint]
cuda.cuMemsetD8Async.argtypes = [ctypes.c_uint64, ctypes.c_ubyte, ctypes.c_size_t, ctypes.c_void_p]
a = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
b = torch.randn(4096, 2048, device="cuda", dtype=torch.bfloat16)
c = torch.empty(4096, 2048, device="cuda", dtype=torch.bfloat16)
ctr = torch.zeros(16, dtype=torch.int32, device="cuda")
s = torch.cuda.current_stream().cuda_stream
def k(): torch.mm(a, b, out=c)
def memset(): cuda.cuMemsetD8Async(ctr.data_ptr(), 0, 4, s); k()
def write():
    assert cuda.cuStreamWriteValue32_v2(s, ctr.data_ptr(), 0, 0) == 0; k()
def fill(): ctr[:1].zero_(); k()
fns = {"kernel": k, "memsetD8": memset, "writeValue32": write, "torch zero_": fill}
for f in fns.values():
    for _ in range(20): f()
torch.cuda.synchronize()
res = {n: [] for n in fns}
for rep in range(7):
    for n, f in fns.items():
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        for _ in range(100): f()
        e1.record(); torch.cuda.synchronize()
        res[n].append(e0.elapsed_time(e1) * 10)  # us per call
base = statistics.median(res["kernel"])
for n, t in res.items():
    m = statistics.median(t)
    print("%-14s %8.2f us per call  (+%.2f us)" % (n, m, m - base))
# Graph capture of a stream write: supported?
g = torch.cuda.CUDAGraph()
try:
    with torch.cuda.graph(g):
        rc = cuda.cuStreamWriteValue32_v2(torch.cuda.current_stream().cuda_stream, ctr.data_ptr(), 0, 0); k()
    ctr.fill_(7); torch.cuda.synchronize()
    g.replay(); torch.cuda.synchronize(); print("graph capture of cuStreamWriteValue32: rc", rc, "counter after replay", ctr[0].item())
except Exception as ex:
    print("graph capture failed:", ex)
