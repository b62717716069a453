"""Prints the comparison tables of MODEL_CARD.md from the JSON the CLI wrote for two models:
    python3 models/bert-mlm-small/compare.py OUT_MLM OUT_SST2
where each OUT holds attn/attention_stats.json, syntax_test/syntax.json, syntax_dev/syntax.json,
probe_upos/probe.json and probe_deprel/probe.json (see MODEL_CARD.md for the commands)."""
import json
import sys


def load(d, f):
    with open(f"{d}/{f}") as h:
        return json.load(h)


def best(grid):
    v, at = max((x, (l, h)) for l, row in enumerate(grid) for h, x in enumerate(row))
    return f"{100 * v:.1f} % ({at[0]}.{at[1]})"


def attention(d):
    a = load(d, "attn/attention_stats.json")
    s = a["stats"]
    lo = min((x, (l, h)) for l, row in enumerate(s["entropy"]) for h, x in enumerate(row))
    return [best(s[k]) for k in ["self", "next", "prev", "cls", "sep", "punct"]] + [f"{lo[0]:.2f} ({lo[1][0]}.{lo[1][1]})"]


def syntax(d, split):
    s = load(d, f"syntax_{split}/syntax.json")
    rel = {k: v for k, v in s["relations"].items() if v["count"] >= 100}
    beat = sorted(k for k, v in rel.items() if v["best"]["accuracy"] > v["baseline"]["accuracy"])
    return s, rel, beat


def main(mlm, sst2):
    names = ["bert-mlm-small", "bert-sst2"]
    print("Attention (SST-2 dev, most focused head per target; lowest mean row entropy):")
    print("| model | self | next | prev | [CLS] | [SEP] | . , | min entropy |")
    print("|---|---|---|---|---|---|---|---|")
    for n, d in zip(names, [mlm, sst2]):
        print(f"| {n} | " + " | ".join(attention(d)) + " |")
    for split in ["test", "dev"]:
        print(f"\nSyntactic heads, UD EWT {split} (best head vs best fixed offset; relations seen ≥ 100 times):")
        rows = [syntax(d, split) for d in [mlm, sst2]]
        print(f"sentences: {rows[0][0]['sentences']}, dependencies: {rows[0][0]['all']['count']}")
        for n, (s, rel, beat) in zip(names, rows):
            a = s["all"]
            print(
                f"- {n}: all relations best head {a['best']['layer']}.{a['best']['head']} {a['best']['direction']} "
                f"{100 * a['best']['accuracy']:.1f} % vs offset {a['baseline']['offset']:+d} {100 * a['baseline']['accuracy']:.1f} %; "
                f"{len(beat)} of {len(rel)} relations beat their baseline: {', '.join(beat)}"
            )
        print("| relation | count | bert-mlm-small best (head) | bert-sst2 best (head) | baseline (offset) |")
        print("|---|---|---|---|---|")
        rel_m, rel_s = rows[0][1], rows[1][1]
        for k in sorted(rel_m, key=lambda k: -rel_m[k]["count"]):
            m, s = rel_m[k], rel_s[k]
            fmt = lambda r: f"{100 * r['best']['accuracy']:.1f} % ({r['best']['layer']}.{r['best']['head']} {r['best']['direction']})"
            print(f"| {k} | {m['count']} | {fmt(m)} | {fmt(s)} | {100 * m['baseline']['accuracy']:.1f} % ({m['baseline']['offset']:+d}) |")
    print("\nProbes (train UD dev, score UD test), accuracy per layer 0..L, full scalar mix, E_s, mix weights:")
    for task in ["upos", "deprel"]:
        for n, d in zip(names, [mlm, sst2]):
            p = load(d, f"probe_{task}/probe.json")
            la = " / ".join(f"{100 * x:.1f}" for x in p["layer_accuracy"])
            mw = " ".join(f"{x:.2f}" for x in p["mix_weights"])
            print(f"- {task} {n}: {la} %; mix {100 * p['mix_accuracy']:.1f} %; E_s {p['center_of_gravity']:.2f}; weights {mw}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
