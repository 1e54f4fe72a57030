"""Transformers end to end: attn_implementation="flashcore" against "sdpa",
same process, same weights (a randomly initialised Llama-3.2-1B-shaped model:
hidden 2048, 16 layers, 32 query / 8 KV heads, head_dim 64, bf16).

Prefill: tokens/s of one forward over (batch, S) tokens, S in {2k, 8k}.
Decode: tokens/s of greedy generation with a KV cache, measured as
(generate N tokens - generate 1 token) / (N - 1) steps, so the prefill drops out.
Medians of several repeats after a warm-up.

  python3 bench/hf_bench.py [--json out.json]
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
import gpu_skip  # noqa: F401,E402


def timed(fn, repeats):
    import torch
    fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--layers", type=int, default=16)
    args = parser.parse_args()
    import torch
    import transformers
    from transformers import AutoModelForCausalLM
    import flashcore.integrations.transformers as fct
    fct.register()
    cfg = transformers.LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=8192,
                                   num_hidden_layers=args.layers, num_attention_heads=32,
                                   num_key_value_heads=8, head_dim=64,
                                   max_position_embeddings=16384, pad_token_id=0,
                                   eos_token_id=None)
    torch.manual_seed(0)
    # from_config writes attn_implementation into the config it is given (and
    # the model keeps it): one copy per model.
    models = {name: AutoModelForCausalLM.from_config(copy.deepcopy(cfg), attn_implementation=name,
                                                     dtype=torch.bfloat16).cuda().eval()
              for name in ("sdpa", "flashcore")}
    assert [m.config._attn_implementation for m in models.values()] == ["sdpa", "flashcore"]
    models["flashcore"].load_state_dict(models["sdpa"].state_dict())
    gen = torch.Generator(device="cuda").manual_seed(1)
    rows = []
    print("GPU %s, torch %s, transformers %s" % (torch.cuda.get_device_name(0), torch.__version__,
                                                 transformers.__version__), flush=True)
    with torch.no_grad():
        for batch, seqlen in ((1, 2048), (1, 8192), (4, 2048)):
            ids = torch.randint(3, cfg.vocab_size, (batch, seqlen), device="cuda", generator=gen)
            row = {"kind": "prefill", "batch": batch, "seqlen": seqlen}
            for name, m in models.items():
                t = timed(lambda: m(input_ids=ids, logits_to_keep=1), 5)
                row[name + "_tok_s"] = batch * seqlen / t
            row["ratio"] = row["flashcore_tok_s"] / row["sdpa_tok_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
        for batch, prompt, new in ((1, 1024, 64), (16, 1024, 64)):
            ids = torch.randint(3, cfg.vocab_size, (batch, prompt), device="cuda", generator=gen)
            row = {"kind": "decode", "batch": batch, "prompt": prompt, "new_tokens": new}
            for name, m in models.items():
                def run(n):
                    return lambda: m.generate(input_ids=ids, max_new_tokens=n, min_new_tokens=n,
                                              do_sample=False, pad_token_id=0)
                t_n, t_1 = timed(run(new), 3), timed(run(1), 3)
                row[name + "_tok_s"] = batch * (new - 1) / (t_n - t_1)
            row["ratio"] = row["flashcore_tok_s"] / row["sdpa_tok_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| phase | batch | tokens | flashcore tok/s | sdpa tok/s | ratio |\n|---|---|---|---|---|---|")
    for r in rows:
        n = r.get("seqlen", r.get("new_tokens"))
        print("| %s | %d | %s | %.0f | %.0f | %.2f |" % (
            r["kind"], r["batch"], n if r["kind"] == "prefill" else "%d after %d" % (n, r["prompt"]),
            r["flashcore_tok_s"], r["sdpa_tok_s"], r["ratio"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(0), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
