"""FlashCore as a Hugging Face Transformers backend (issue 8), on the GPU.

Small randomly initialised Llama-style (GQA) and Mistral-style (GQA + sliding
window) models built from configs (no downloads), bf16:

1. prefill logits of attn_implementation="flashcore" and "sdpa" (bf16, same
   weights) against an fp32 "sdpa" copy of the model: FlashCore's relative
   error must be <= 1.5x sdpa-bf16's + 1e-3;
2. 32 greedy tokens (KV-cache decode, seqlen_q = 1) of "flashcore" against
   the fp32 model's: identical up to the first step where the fp32 model's
   top-2 logit margin is under the noise bound tau (2x the largest prefill
   logit error of "flashcore"), and the number of identical tokens reported;
3. a left-padded batch of 4 prompts of different lengths generating the same
   tokens as each prompt alone (both "flashcore"), with the same margin rule,
   and the varlen path taken for the padded batch.

  python3 tests/gpu/test_transformers.py [--json out.json]

Exit 0: all passed; 1: a failure; 77: skipped (no GPU, torch < 2.4 or no
transformers >= 5).
"""
import argparse
import copy
import json
import sys

from gpu_skip import SKIP, torch_or_skip

NEW_TOKENS = 32


def configs(transformers):
    common = dict(vocab_size=2048, hidden_size=512, intermediate_size=1024, num_hidden_layers=4,
                  num_attention_heads=8, num_key_value_heads=2, head_dim=64,
                  max_position_embeddings=4096, initializer_range=0.05, pad_token_id=0,
                  bos_token_id=1, eos_token_id=None)
    llama = transformers.LlamaConfig(**common)
    mistral = transformers.MistralConfig(sliding_window=96, **common)
    return [("llama-gqa", llama), ("mistral-swa96", mistral)]


def logits_of(model, ids, mask=None):
    import torch
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits.float()


def greedy(model, ids, mask=None):
    import torch
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0,
                             output_scores=True, return_dict_in_generate=True)
    new = out.sequences[:, ids.shape[1]:]
    margins = []
    for step in out.scores:  # (batch, vocab) per step
        top = step.float().topk(2, dim=-1).values
        margins.append((top[:, 0] - top[:, 1]))
    return new, torch.stack(margins, 1)


def agree_until_tie(got, want, margin, tau):
    """(first differing step or None, first step whose reference margin < tau or None)."""
    diff = (got != want).nonzero()
    first_diff = int(diff[0].item()) if len(diff) else None
    ties = (margin < tau).nonzero()
    first_tie = int(ties[0].item()) if len(ties) else None
    return first_diff, first_tie


def run_model(torch, transformers, fct, name, cfg):
    from transformers import AutoModelForCausalLM
    row = {"model": name}
    torch.manual_seed(1234)
    # from_config writes attn_implementation and dtype into the config it is
    # given, which the model keeps: each model gets its own copy.
    sdpa = AutoModelForCausalLM.from_config(copy.deepcopy(cfg), attn_implementation="sdpa",
                                            dtype=torch.bfloat16).cuda().eval()
    fc = AutoModelForCausalLM.from_config(copy.deepcopy(cfg), attn_implementation="flashcore",
                                          dtype=torch.bfloat16).cuda().eval()
    fc.load_state_dict(sdpa.state_dict())
    ref = copy.deepcopy(sdpa).float()
    ref.config.dtype = torch.float32
    row["attn_implementation"] = [m.config._attn_implementation for m in (fc, sdpa, ref)]
    assert row["attn_implementation"] == ["flashcore", "sdpa", "sdpa"], row["attn_implementation"]

    # Step 1. Prefill logits, two prompts of 300 tokens (longer than the window).
    gen = torch.Generator(device="cuda").manual_seed(7)
    ids = torch.randint(3, cfg.vocab_size, (2, 300), device="cuda", generator=gen)
    before = dict(fct.calls)
    lf, ls, lr = logits_of(fc, ids), logits_of(sdpa, ids), logits_of(ref, ids)
    row["prefill_dense_calls"] = fct.calls["dense"] - before["dense"]
    err = lambda x: ((x - lr).norm() / lr.norm()).item()
    row["prefill_rel_err_flashcore"] = err(lf)
    row["prefill_rel_err_sdpa_bf16"] = err(ls)
    row["prefill_max_abs_flashcore"] = (lf - lr).abs().max().item()
    row["prefill_max_abs_sdpa_bf16"] = (ls - lr).abs().max().item()
    row["prefill_max_abs_flashcore_vs_sdpa"] = (lf - ls).abs().max().item()
    tau = 2 * row["prefill_max_abs_flashcore"]
    row["tau"] = tau
    ok_prefill = (row["prefill_rel_err_flashcore"] <= 1.5 * row["prefill_rel_err_sdpa_bf16"] + 1e-3
                  and row["prefill_dense_calls"] == cfg.num_hidden_layers)

    # Step 2. 32 greedy tokens after a 150-token prompt, against fp32.
    prompt = ids[:1, :150]
    t_fc, _ = greedy(fc, prompt)
    t_sd, _ = greedy(sdpa, prompt)
    t_ref, m_ref = greedy(ref, prompt)
    first_diff, first_tie = agree_until_tie(t_fc[0], t_ref[0], m_ref[0], tau)
    row["greedy_identical_to_fp32"] = int((t_fc[0] == t_ref[0]).sum().item())
    row["greedy_identical_sdpa_bf16_to_fp32"] = int((t_sd[0] == t_ref[0]).sum().item())
    row["greedy_identical_to_sdpa_bf16"] = int((t_fc[0] == t_sd[0]).sum().item())
    row["greedy_first_diff"], row["greedy_first_near_tie"] = first_diff, first_tie
    ok_greedy = first_diff is None or (first_tie is not None and first_diff >= first_tie)

    # Step 3. Left-padded batch of 4 prompts vs each alone.
    lengths = [37, 90, 151, 203]
    width = max(lengths)
    batch = torch.zeros(4, width, dtype=torch.long, device="cuda")
    mask = torch.zeros(4, width, dtype=torch.long, device="cuda")
    prompts = [torch.randint(3, cfg.vocab_size, (1, n), device="cuda", generator=gen)
               for n in lengths]
    for i, p in enumerate(prompts):
        batch[i, width - lengths[i]:] = p[0]
        mask[i, width - lengths[i]:] = 1
    before = dict(fct.calls)
    t_batch, _ = greedy(fc, batch, mask)
    row["padded_varlen_calls"] = fct.calls["varlen"] - before["varlen"]
    padded = []
    ok_padded = row["padded_varlen_calls"] > 0
    for i, p in enumerate(prompts):
        t_alone, m_alone = greedy(fc, p)
        d, t = agree_until_tie(t_batch[i], t_alone[0], m_alone[0], tau)
        same = int((t_batch[i] == t_alone[0]).sum().item())
        padded.append({"prompt_len": lengths[i], "identical": same, "first_diff": d,
                       "first_near_tie": t})
        ok_padded &= d is None or (t is not None and d >= t)
    row["padded"] = padded
    row["pass_prefill"], row["pass_greedy"], row["pass_padded"] = ok_prefill, ok_greedy, ok_padded
    row["pass"] = bool(ok_prefill and ok_greedy and ok_padded)
    del sdpa, fc, ref
    torch.cuda.empty_cache()
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = parser.parse_args()
    torch = torch_or_skip(custom_op=True)
    if torch is None:
        return SKIP
    try:
        import transformers
        from transformers import AttentionInterface  # noqa: F401  (>= 5)
    except ImportError as e:
        print("skipped: transformers >= 5 is not installed (%s)" % e)
        return SKIP
    import flashcore.integrations.transformers as fct
    fct.register()
    print("GPU: %s, torch %s, transformers %s" % (torch.cuda.get_device_name(0), torch.__version__,
                                                   transformers.__version__), flush=True)
    rows = []
    for name, cfg in configs(transformers):
        try:
            row = run_model(torch, transformers, fct, name, cfg)
        except Exception as e:
            import traceback
            row = {"model": name, "pass": False, "error": "%s: %s" % (type(e).__name__, e),
                   "trace": traceback.format_exc()[-2000:]}
        rows.append(row)
        print(("PASS " if row["pass"] else "FAIL ") + json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    failed = [r["model"] for r in rows if not r["pass"]]
    print("%d/%d models passed" % (len(rows) - len(failed), len(rows)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
