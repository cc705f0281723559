#!/usr/bin/env python3
"""The ablation of issue 11: the tutorial DCGAN against each modern technique added alone, and
against the modern recipe (SNGAN: spectral norm in D, hinge loss, averaged generator), on
Fashion-MNIST, two training seeds each, measured with `swiftgan eval` (10 000 images).

    scripts/ablation.py [--swiftgan .build/release/swiftgan] [--out runs/ablation] [--phase one|five|small|all]

Phases: `one` — every variant after 1 epoch; `five` — the tutorial DCGAN and the modern recipe
after 5 epochs; `small` — both on a 2 000-image random subset (--limit 2000 --limit-random) for
the same number of steps as one full epoch (468), where augmentation should matter most. Each run
is skipped when its eval.json exists, so the script can be stopped and started again. Prints a
table (mean and both seeds) and writes OUT/results.json.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time

from machine import cpu

VARIANTS = {
    "dcgan": [],
    "dcgan+sn": ["--spectral-norm", "d"],
    "dcgan+ema": ["--ema", "0.999"],
    "dcgan+augment": ["--augment", "color,translation,cutout"],
    "sngan": ["--model", "sngan"],
    "sngan+ttur": ["--model", "sngan", "--lr-d", "4e-4", "--lr-g", "1e-4"],
}
SEEDS = [0, 1]


def run(tool, out, name, args, seed, epochs, extra=()):
    directory = os.path.join(out, f"{name}-e{epochs}{'-small' if extra else ''}-s{seed}")
    result = os.path.join(directory, "eval.json")
    if os.path.exists(result):
        return json.load(open(result))
    if os.path.exists(directory):
        subprocess.run(["rm", "-rf", directory], check=True)
    t0 = time.time()
    cmd = [tool, "train", "--epochs", str(epochs), "--seed", str(seed), "--sample-every", "0",
           "--checkpoint-minutes", "0", "--out", directory] + list(args) + list(extra)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.time() - t0
    state = json.load(open(sorted(
        os.path.join(directory, "checkpoints", d) for d in os.listdir(os.path.join(directory, "checkpoints"))
        if d.startswith("step-"))[-1] + "/state.json"))
    ev = json.loads(subprocess.run([tool, "eval", directory, "--json"], check=True, capture_output=True, text=True).stdout)
    g = ev["generated"]
    record = {"name": name, "seed": seed, "epochs": epochs, "small": bool(extra), "steps": state["step"],
              "training_seconds": state["trainingSeconds"], "wall_seconds": wall,
              "seconds_per_epoch": state["trainingSeconds"] / max(state["step"] / 468, 1e-9),
              "fd": g["frechetDistance"], "score": g["classifierScore"], "coverage": g["classCoverage"],
              "precision": g["precision"], "recall": g["recall"]}
    json.dump(record, open(result, "w"), indent=1)
    print(json.dumps(record), flush=True)
    return record


def table(records):
    rows = {}
    for r in records:
        rows.setdefault((r["name"], r["epochs"], r["small"]), []).append(r)
    lines = ["| run | epochs | FD ↓ (mean; seeds) | score ↑ | classes | precision | recall | s/epoch |", "|---|---|---|---|---|---|---|---|"]
    for (name, epochs, small), rs in rows.items():
        def m(k, f="%.2f"):
            return f % statistics.mean(r[k] for r in rs)
        fds = "; ".join("%.1f" % r["fd"] for r in rs)
        lines.append(f"| {name}{' (2 000 images)' if small else ''} | {epochs if not small else '468 steps'} | {m('fd', '%.1f')} ({fds}) | {m('score')} | "
                     f"{m('coverage', '%.1f')} | {m('precision', '%.3f')} | {m('recall', '%.3f')} | {m('seconds_per_epoch', '%.0f')} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--swiftgan", default=".build/release/swiftgan")
    p.add_argument("--out", default="runs/ablation")
    p.add_argument("--phase", default="all", choices=["one", "five", "small", "all"])
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    print("# " + cpu(), flush=True)
    records = []
    if a.phase in ("one", "all"):
        for seed in SEEDS:
            for name, args in VARIANTS.items():
                records.append(run(a.swiftgan, a.out, name, args, seed, 1))
    if a.phase in ("five", "all"):
        for seed in SEEDS:
            for name in ("dcgan", "sngan"):
                records.append(run(a.swiftgan, a.out, name, VARIANTS[name], seed, 5))
    if a.phase in ("small", "all"):
        small = ["--limit", "2000", "--limit-random", "--max-steps", "468"]
        for seed in SEEDS:
            for name in ("dcgan", "dcgan+augment", "sngan"):
                records.append(run(a.swiftgan, a.out, name, VARIANTS[name], seed, 1000, small))
    json.dump({"cpu": cpu(), "runs": records}, open(os.path.join(a.out, "results.json"), "w"), indent=1)
    print("# " + cpu())
    print(table(records))


if __name__ == "__main__":
    main()
