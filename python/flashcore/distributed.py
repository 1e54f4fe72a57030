"""Attention over several GPUs through torch.distributed: heads or sequence split.

FlashCore has no communication layer of its own: both layouts run FlashCore's
``flash_attn_func`` on each rank and move tensors with torch.distributed
(NCCL), forward only.

Tensor parallel (heads split). In a tensor-parallel model each rank already
holds its own heads (the column-parallel QKV projection produced them), and
the pattern is just ``flash_attn_func`` on them: rank r of W takes query heads
[r * H / W, (r + 1) * H / W) and the KV heads they read, [r * H_kv / W, ...)
(GQA keeps its grouping because H / H_kv query heads share a KV head and
W divides H_kv). ``shard_heads`` cuts a tensor that way; ``tp_attention`` takes
full tensors replicated on every rank, runs this rank's heads and gathers the
heads back (``all_gather_into_tensor``). Each head's output is the one the
same kernel gives on one GPU: FlashCore's kernel choice (runtime/Dispatch.cpp's
class key) depends on dtype, head_dim, causal, seqlen_k and the GQA ratio, not
on the number of heads, and flash_attn_func does not split KV by default, so
the gathered result equals the single-GPU one bit for bit (except where H_kv
< W: each rank then reads one replicated KV head, which changes the GQA ratio
and so possibly the kernel).

Context parallel (ring attention, sequence split). ``ring_flash_attn_func``
takes this rank's shard of q, k, v; the K/V blocks travel around the ring of
the group (rank r sends to r + 1 and receives from r - 1 with
``batch_isend_irecv``), double-buffered so that the transfer of the next block
runs while FlashCore computes this rank's queries against the current one.
Each step's partial output is merged into an fp32 accumulator by its LSE.
Causal attention uses zig-zag (balanced) sharding: the sequence is cut into
2W chunks and rank r holds chunks r and 2W - 1 - r (``zigzag_shard``), so
every rank does the same work; ``_zigzag_step_plan`` says which queries attend
which keys at each step. Contiguous sharding (rank r holds chunk r of W) works
too, with uneven work when causal. ``ring_attention_reference`` runs the same
steps in one process on one device (no communication), for tests.

The step plans (``_zigzag_step_plan``, ``_contiguous_step_plan``) and their
exhaustive check (``check_step_plans``) need neither torch nor a GPU.
"""
import collections
import math

try:
    import torch
except ImportError:  # the step plans and their check run without torch
    torch = None

__all__ = ["shard_heads", "tp_attention", "ring_flash_attn_func", "ring_attention_reference",
           "zigzag_shard", "zigzag_unshard", "check_step_plans"]


#===------------------------------------------------------------------------===#
# Step plans (pure index math, no torch)
#===------------------------------------------------------------------------===#

# One ring step of one rank: the queries and keys of the call, each as a range
# [lo, hi) of halves of the local block ((0, 2) all of it, (0, 1) its first
# half, (1, 2) its second), and whether the call is causal. None: no call.
StepPlan = collections.namedtuple("StepPlan", "q kv causal")
_ALL, _FIRST, _SECOND = (0, 2), (0, 1), (1, 2)


def _check_rank(rank, src, world):
    if not isinstance(world, int) or world < 1:
        raise ValueError("world must be an int >= 1, got: %r" % (world,))
    for name, value in (("rank", rank), ("src", src)):
        if not isinstance(value, int) or not 0 <= value < world:
            raise ValueError("%s must be an int in [0, world = %d), got: %r" % (name, world, value))


def _ring_sources(rank, world):
    """The rank whose K/V block `rank` holds at each step: (rank - step) mod world
    (blocks move from r to r + 1)."""
    return [(rank - step) % world for step in range(world)]


def _local_chunks(rank, world, zigzag):
    """The global chunks (of 2 * world, in sequence order) that are the two halves
    of rank's block: (rank, 2 * world - 1 - rank) zig-zag, (2 * rank, 2 * rank + 1)
    contiguous."""
    return (rank, 2 * world - 1 - rank) if zigzag else (2 * rank, 2 * rank + 1)


def _zigzag_step_plan(rank, src, world):
    """Rank `rank`'s call against the K/V block of rank `src`, causal, zig-zag sharding.

    The sequence is cut into 2W chunks of c tokens; rank r holds chunks
    a_r = r and b_r = 2W - 1 - r, in that order, so r < W <= b_r. Query chunk i
    sees key chunk j fully when j < i, causally (the diagonal) when j == i, and
    not at all when j > i. Rank r's queries {a_r, b_r} against src s's keys
    {a_s, b_s}:

    - s == r: (a_r, a_r) and (b_r, b_r) diagonal, (b_r, a_r) full, (a_r, b_r)
      none. Because a_r < b_r, the local order of the block is the global
      order, so this is the ordinary causal mask of the whole 2c x 2c block
      (q and kv of equal length: FlashAttention's bottom-right alignment is
      the ordinary one): StepPlan(q=all, kv=all, causal=True).
    - s < r: a_s = s < r = a_r < b_r, and b_s = 2W - 1 - s > 2W - 1 - r = b_r.
      Both query chunks see a_s fully and b_s not at all:
      StepPlan(q=all, kv=first half, causal=False).
    - s > r: a_r = r < s = a_s and a_r < W <= b_s, so a_r sees nothing;
      a_s = s < W <= b_r and b_s = 2W - 1 - s < 2W - 1 - r = b_r, so b_r sees
      both fully: StepPlan(q=second half, kv=all, causal=False).

    Every (query chunk, key chunk) pair with key <= query belongs to exactly
    one (r, s) (each chunk is held by one rank) and is computed there, once;
    pairs with key > query never are (``check_step_plans`` enumerates this).
    Each rank computes 2c x 2c / 2 + (W - 1) * (2c x c) scores: the same on
    every rank.
    """
    _check_rank(rank, src, world)
    if src == rank:
        return StepPlan(_ALL, _ALL, True)
    if src < rank:
        return StepPlan(_ALL, _FIRST, False)
    return StepPlan(_SECOND, _ALL, False)


def _contiguous_step_plan(rank, src, world):
    """Rank `rank`'s call against rank `src`'s block, causal, contiguous sharding
    (rank r holds chunk r of W): the own block causal, earlier blocks in full,
    later blocks not at all (None: the block passes by, rank r computes
    r + 1/2 blocks, unbalanced)."""
    _check_rank(rank, src, world)
    if src == rank:
        return StepPlan(_ALL, _ALL, True)
    return StepPlan(_ALL, _ALL, False) if src < rank else None


def _step_plan(rank, src, world, causal, zigzag):
    """The call of one ring step (StepPlan or None); non-causal: every block in full."""
    if not causal:
        _check_rank(rank, src, world)
        return StepPlan(_ALL, _ALL, False)
    return (_zigzag_step_plan if zigzag else _contiguous_step_plan)(rank, src, world)


def _half_slice(part, n):
    """The rows of halves [lo, hi) of a block of n rows (all rows for (0, 2))."""
    lo, hi = part
    return slice(lo * n // 2, hi * n // 2)


def check_step_plans(max_world=8):
    """Checks the step plans exhaustively for world = 1 .. max_world, causal and
    not, zig-zag and contiguous, at the granularity of the 2W chunks. Simulates
    what each call computes (a causal call's mask taken from its *local* row and
    column order, as the kernel does) and requires: every (query chunk, key
    chunk) pair computed exactly once, causally on the diagonal, in full below
    it, never above it (causal) / in full everywhere (non-causal); every rank
    sees every source once; step 0 covers all queries; a causal call has q and
    kv of one length (the only case where bottom-right alignment is the
    ordinary mask). Returns the list of violations (empty: all good).
    Torch-free."""
    problems = []
    for world in range(1, max_world + 1):
        for causal in (False, True):
            for zigzag in (False, True):
                tag = "world=%d causal=%s zigzag=%s" % (world, causal, zigzag)
                seen = collections.defaultdict(list)
                for rank in range(world):
                    sources = _ring_sources(rank, world)
                    if sorted(sources) != list(range(world)) or sources[0] != rank:
                        problems.append("%s rank %d: sources %s" % (tag, rank, sources))
                    q_chunks = _local_chunks(rank, world, zigzag)
                    for step, src in enumerate(sources):
                        plan = _step_plan(rank, src, world, causal, zigzag)
                        if step == 0 and (plan is None or plan.q != _ALL):
                            problems.append("%s rank %d: step 0 must cover all queries, got: %s"
                                            % (tag, rank, plan))
                        if plan is None:
                            continue
                        if plan.causal and plan.q != plan.kv:
                            problems.append("%s rank %d src %d: causal call with q %s != kv %s"
                                            % (tag, rank, src, plan.q, plan.kv))
                        k_chunks = _local_chunks(src, world, zigzag)
                        for qh in range(*plan.q):
                            for kh in range(*plan.kv):
                                if not plan.causal:
                                    kind = "full"
                                elif kh == qh:
                                    kind = "diag"
                                else:
                                    kind = "full" if kh < qh else None
                                if kind:
                                    seen[(q_chunks[qh], k_chunks[kh])].append(kind)
                for qc in range(2 * world):
                    for kc in range(2 * world):
                        if not causal:
                            want = ["full"]
                        else:
                            want = ["full"] if kc < qc else (["diag"] if kc == qc else [])
                        if seen.get((qc, kc), []) != want:
                            problems.append("%s: query chunk %d x key chunk %d computed as %s, "
                                            "want %s" % (tag, qc, kc, seen.get((qc, kc), []),
                                                         want))
    return problems


#===------------------------------------------------------------------------===#
# Sharding
#===------------------------------------------------------------------------===#

def _check_split(name, t, parts, dim, what):
    if not isinstance(t, torch.Tensor):
        raise TypeError("%s must be a torch.Tensor, got: %s" % (name, type(t).__name__))
    if not -t.dim() <= dim < t.dim():
        raise ValueError("dim must be in [%d, %d) for %s's shape %s, got: %d"
                         % (-t.dim(), t.dim(), name, tuple(t.shape), dim))
    if t.shape[dim] % parts:
        raise ValueError("%s (dimension %d of %s) must be a multiple of %d, got: %d"
                         % (what, dim, name, parts, t.shape[dim]))


def zigzag_shard(t, rank, world, dim=1):
    """Rank's zig-zag shard of t along dim (the sequence of (batch, seqlen, heads,
    head_dim)): t cut into 2 * world chunks, chunks rank and 2 * world - 1 - rank
    concatenated (a copy). seqlen must be a multiple of 2 * world."""
    _check_rank(rank, 0, world)
    _check_split("t", t, 2 * world, dim, "seqlen")
    chunks = t.chunk(2 * world, dim)
    return torch.cat((chunks[rank], chunks[2 * world - 1 - rank]), dim)


def zigzag_unshard(shards, dim=1):
    """The full tensor from the zig-zag shards of every rank (a list, rank order)."""
    world = len(shards)
    if world < 1:
        raise ValueError("shards must be a non-empty list (one per rank), got: %d" % world)
    chunks = [None] * (2 * world)
    for rank, s in enumerate(shards):
        _check_split("shards[%d]" % rank, s, 2, dim, "seqlen_local")
        if s.shape != shards[0].shape:
            raise ValueError("shards[%d] must have shards[0]'s shape %s, got: %s"
                             % (rank, tuple(shards[0].shape), tuple(s.shape)))
        chunks[rank], chunks[2 * world - 1 - rank] = s.chunk(2, dim)
    return torch.cat(chunks, dim)


def _shard(t, rank, world, zigzag, dim=1):
    if zigzag:
        return zigzag_shard(t, rank, world, dim)
    _check_split("t", t, world, dim, "seqlen")
    return t.chunk(world, dim)[rank]


def _unshard(shards, zigzag, dim=1):
    return zigzag_unshard(shards, dim) if zigzag else torch.cat(shards, dim)


def shard_heads(t, rank, world, dim=2):
    """Rank's heads of t (heads along dim: 2 for (batch, seqlen, heads, head_dim)):
    heads [rank * n, (rank + 1) * n) with n = heads / world, a view."""
    _check_rank(rank, 0, world)
    _check_split("t", t, world, dim, "heads")
    n = t.shape[dim] // world
    return t.narrow(dim, rank * n, n)


#===------------------------------------------------------------------------===#
# torch.distributed helpers
#===------------------------------------------------------------------------===#

def _dist():
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("torch.distributed must be initialized (init_process_group, NCCL) "
                           "before flashcore.distributed's collective functions, got: "
                           "not initialized")
    return dist


def _global_rank(dist, group, group_rank):
    """The global rank of group_rank in group (P2P ops address global ranks)."""
    if group is None:
        return group_rank
    get = getattr(dist, "get_global_rank", None) or dist.distributed_c10d._get_global_rank
    return get(group, group_rank)


def _gather(dist, t, dim, world, group):
    """All ranks' t concatenated along dim, rank order."""
    t = t.contiguous()
    buf = t.new_empty((world,) + tuple(t.shape))
    if hasattr(dist, "all_gather_into_tensor"):
        dist.all_gather_into_tensor(buf, t, group=group)
    else:  # pragma: no cover - torch < 2.0
        dist.all_gather(list(buf.unbind(0)), t, group=group)
    return buf.movedim(0, dim).flatten(dim, dim + 1)


#===------------------------------------------------------------------------===#
# Tensor parallel
#===------------------------------------------------------------------------===#

def _kv_heads_of(heads_q, heads_kv, rank, world):
    """(first, count) of the KV heads that rank's query heads read: its own 1/world
    of them when world divides heads_kv, else the one KV head its query heads
    share (world a multiple of heads_kv, each KV head replicated on
    world / heads_kv ranks, and each rank's heads_q / world query heads inside
    one group of heads_q / heads_kv)."""
    if heads_kv % world == 0:
        n = heads_kv // world
        return rank * n, n
    group = heads_q // heads_kv
    per_rank = heads_q // world
    if per_rank > 0 and world % heads_kv == 0 and group % per_rank == 0:
        return rank // (world // heads_kv), 1
    raise ValueError("heads_kv must be a multiple of the group's world size %d, or divide it "
                     "with whole query groups per rank, got: %d (heads_q %d)"
                     % (world, heads_kv, heads_q))


def tp_attention(q, k, v, group=None, gather=True, **kwargs):
    """Tensor-parallel attention of full q, k, v replicated on every rank of group.

    q (batch, seqlen, heads_q, head_dim), k, v (batch, seqlen_k, heads_kv, head_dim):
    this rank runs ``flash_attn_func`` (with **kwargs) on its heads_q / world query
    heads and the KV heads they read (see ``_kv_heads_of``), then, with
    gather=True, all-gathers the heads: returns what ``flash_attn_func(q, k, v,
    **kwargs)`` returns on one GPU (out, or (out, softmax_lse) with
    return_attn_probs=True, softmax_lse (batch, heads_q, seqlen_q)). gather=False
    returns this rank's heads only (heads [rank * n, (rank + 1) * n)).
    heads_q must be a multiple of the group's world size.
    """
    from .interface import _check_qkv, flash_attn_func
    dist = _dist()
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    qs, ks = _check_qkv(q, k, v, 4)[:2]
    if qs[2] % world:
        raise ValueError("heads_q (dimension 2 of q) must be a multiple of the group's world "
                         "size %d, got: %d" % (world, qs[2]))
    first, count = _kv_heads_of(qs[2], ks[2], rank, world)
    result = flash_attn_func(shard_heads(q, rank, world), k.narrow(2, first, count),
                             v.narrow(2, first, count), **kwargs)
    if not gather:
        return result
    if isinstance(result, tuple):
        out, lse = result
        return _gather(dist, out, 2, world, group), _gather(dist, lse, 1, world, group)
    return _gather(dist, result, 2, world, group)


#===------------------------------------------------------------------------===#
# Ring attention
#===------------------------------------------------------------------------===#

def _merge_(out, lse, blk_out, blk_lse):
    """Merges a partial result into the running one, in place, by their LSE.

    out (batch, rows, heads, d) fp32 and lse (batch, heads, rows) fp32 (views
    of the accumulator); blk_out (batch, rows, heads, d) any float dtype,
    blk_lse like lse. With m = max(lse, blk_lse):
        a, b    = exp(lse - m), exp(blk_lse - m)
        new_lse = m + log(a + b)
        out     = (a * out + b * blk_out) / (a + b)
    A row with both LSE -inf (no key seen yet) keeps LSE -inf and out 0 (m is
    taken as 0 there, so no -inf - -inf). FlashCore's split-KV combine kernel
    computes the same merge, but it is internal to a split call and reads its
    fp32 workspace, not (out, lse) pairs in these layouts; this is torch
    arithmetic instead (a few element-wise kernels over (batch, rows, heads),
    small next to the attention of a block).
    """
    m = torch.maximum(lse, blk_lse)
    m = m.masked_fill(m == -math.inf, 0.0)
    w_acc = torch.exp(lse - m)
    w_blk = torch.exp(blk_lse - m)
    total = w_acc + w_blk
    lse.copy_(m + torch.log(total))  # log(0) = -inf where both are -inf
    total = total.masked_fill(total == 0, 1.0)
    w_acc = (w_acc / total).transpose(1, 2).unsqueeze(-1)
    w_blk = (w_blk / total).transpose(1, 2).unsqueeze(-1)
    out.mul_(w_acc).add_(blk_out.float().mul_(w_blk))


def _ring_forward(q, blocks, rank, world, causal, zigzag, scale):
    """This rank's ring attention over `blocks`, an iterable of (src, k_blk, v_blk)
    in ring order (its own block first). Each step runs flash_attn_func on its
    plan's queries and keys and merges the result into an fp32 accumulator.
    Returns (out in q's dtype, lse (batch, heads, seqlen_local) fp32)."""
    from .interface import flash_attn_func
    n = q.shape[1]
    out = lse = None
    for src, k_blk, v_blk in blocks:
        plan = _step_plan(rank, src, world, causal, zigzag)
        if plan is None:
            continue
        rows, keys = _half_slice(plan.q, n), _half_slice(plan.kv, k_blk.shape[1])
        blk_out, blk_lse = flash_attn_func(q[:, rows], k_blk[:, keys], v_blk[:, keys],
                                           softmax_scale=scale, causal=plan.causal,
                                           return_attn_probs=True)
        if out is None and plan.q == _ALL:  # step 0, the own block: covers every row
            out, lse = blk_out.float(), blk_lse
            continue
        if out is None:
            out = q.new_zeros(q.shape, dtype=torch.float32)
            lse = q.new_full((q.shape[0], q.shape[2], n), -math.inf, dtype=torch.float32)
        _merge_(out[:, rows], lse[:, :, rows], blk_out, blk_lse)
    return out.to(q.dtype), lse


def _ring_kv_blocks(k, v, rank, world, group, dist):
    """Yields (src, k_blk, v_blk) around the ring: K and V packed in one buffer;
    the transfer of the next block (send to rank + 1, receive from rank - 1)
    is launched before the current block is yielded and waited on (on the
    stream) before the next one is, into the other of two buffers. The buffer
    received into at step i + 1 is the one computed on at step i: the NCCL
    stream waits for the compute stream's work enqueued before the launch."""
    cur = torch.stack((k, v))
    nxt = torch.empty_like(cur) if world > 1 else None
    send_to = _global_rank(dist, group, (rank + 1) % world)
    recv_from = _global_rank(dist, group, (rank - 1) % world)
    for step, src in enumerate(_ring_sources(rank, world)):
        reqs = []
        if step + 1 < world:
            reqs = dist.batch_isend_irecv([dist.P2POp(dist.isend, cur, send_to, group),
                                           dist.P2POp(dist.irecv, nxt, recv_from, group)])
        yield src, cur[0], cur[1]
        for r in reqs:
            r.wait()
        cur, nxt = nxt, cur


def _check_ring_args(q, k, v, causal, zigzag):
    """The checks every rank makes before any communication (a rank that raised
    after sending would leave the others waiting). Returns head_dim."""
    from .interface import _check_qkv
    qs, ks = _check_qkv(q, k, v, 4)[:2]
    if causal and ks[1] != qs[1]:
        raise ValueError("k and v must have q's seqlen_local %d (dimension 1) for causal ring "
                         "attention (the same positions), got: %d" % (qs[1], ks[1]))
    if causal and zigzag and qs[1] % 2:
        raise ValueError("seqlen_local (dimension 1 of q) must be even for causal zig-zag ring "
                         "attention (two chunks per rank), got: %d" % qs[1])
    return qs[3]


def _scale(head_dim, softmax_scale):
    return head_dim ** -0.5 if softmax_scale is None else float(softmax_scale)


def ring_flash_attn_func(q, k, v, group=None, causal=False, softmax_scale=None, zigzag=True,
                         return_lse=False):
    """Ring (context-parallel) attention forward over the ranks of group.

    q (batch, seqlen_local, heads_q, head_dim), k, v (batch, seqlen_local, heads_kv,
    head_dim): this rank's shard of the sequence; every rank passes the same
    shapes (not checked: it would cost a collective). Sharding: zigzag=True,
    the ``zigzag_shard`` of the full tensors (needed for balanced causal work;
    seqlen_local even); zigzag=False, contiguous (rank r holds tokens
    [r * seqlen_local, (r + 1) * seqlen_local)). Non-causal attention is
    independent of the sharding as long as q, k and v are sharded alike.
    Returns this rank's output (batch, seqlen_local, heads_q, head_dim) in q's
    dtype, in its shard's order, and with return_lse=True also its LSE (batch,
    heads_q, seqlen_local) fp32 (natural log, softmax_scale included).
    Collective: every rank of group must call it.
    """
    dist = _dist()
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    scale = _scale(_check_ring_args(q, k, v, causal, zigzag), softmax_scale)
    out, lse = _ring_forward(q, _ring_kv_blocks(k, v, rank, world, group, dist), rank, world,
                             causal, zigzag, scale)
    return (out, lse) if return_lse else out


def ring_attention_reference(q, k, v, world, causal=False, softmax_scale=None, zigzag=True):
    """The ring's math in one process on one device, no communication.

    q (batch, seqlen, heads_q, head_dim), k, v (batch, seqlen, heads_kv, head_dim):
    full tensors; sharded for `world` ranks as the ring's callers would (zig-zag:
    ``zigzag_shard``, seqlen a multiple of 2 * world; else contiguous, a
    multiple of world), each rank's steps run with the ring's plans, calls and
    merge (``_ring_forward``), the shards put back together. Returns (out
    (batch, seqlen, heads_q, head_dim), lse (batch, heads_q, seqlen) fp32):
    what flash_attn_func(q, k, v, causal=causal, return_attn_probs=True) gives,
    up to rounding.
    """
    from .interface import _check_qkv
    _check_rank(0, 0, world)
    qs, ks = _check_qkv(q, k, v, 4)[:2]
    if ks[1] != qs[1]:
        raise ValueError("k and v must have q's seqlen %d (dimension 1), got: %d" % (qs[1], ks[1]))
    parts = 2 * world if zigzag else world
    if qs[1] % parts:
        raise ValueError("seqlen (dimension 1 of q) must be a multiple of %s = %d for %s "
                         "sharding, got: %d" % ("2 * world" if zigzag else "world", parts,
                                               "zig-zag" if zigzag else "contiguous", qs[1]))
    scale = _scale(qs[3], softmax_scale)
    q_sh, k_sh, v_sh = ([_shard(t, r, world, zigzag) for r in range(world)] for t in (q, k, v))
    outs, lses = [], []
    for rank in range(world):
        blocks = ((src, k_sh[src], v_sh[src]) for src in _ring_sources(rank, world))
        out, lse = _ring_forward(q_sh[rank], blocks, rank, world, causal, zigzag, scale)
        outs.append(out)
        lses.append(lse)
    return _unshard(outs, zigzag, 1), _unshard(lses, zigzag, 2)
