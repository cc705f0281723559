#!/usr/bin/env python3
"""A recipe search that anyone can rerun: train each recipe for a number of epochs (or minutes)
and seeds, measure each run with `swiftgan eval`, and print the table the recipes guide (docs/guide/recipes.md) shows (mean and
spread of the Fréchet distance over the seeds, its ratio to the first recipe, seconds per epoch).

    scripts/recipe-search.py [--recipes batch|ema|loss|penalties|conditional|colour|all|NAME,NAME…] [--epochs 1,5 | --minutes 10,30]
                             [--seeds 0,1,2] [--data PATH|emoji] [--image-size N] [--parallel N]
                             [--swiftgan .build/release/swiftgan] [--out runs/recipes] [--threads N]
                             [--table-only] [--readme docs/guide/recipes.md]

With `--minutes` the horizons are wall-clock budgets (`swiftgan train --minutes`): a step's cost is
then part of every recipe's score, as a CPU user meets it. `--parallel N` trains N runs at once
(give `--threads` so that N × threads fits the cores); runs that share the machine share its
noise, so compare recipes trained side by side.

`make recipes ARGS="…"` builds swiftgan and runs it. Every run lives in OUT/NAME-sSEED; a longer
horizon continues the shorter one (`swiftgan train --resume RUN --epochs 5`), so 1 and 5 epochs
cost 5 epochs of training. Each evaluation is kept (OUT/NAME-sSEED/eval-eN.json) and skipped when
present, so the search can be stopped and started again, in the background, a batch at a time.
The first recipe is the reference of the ratios; times are comparable only within one machine and
one invocation (the CPU heads the output).
"""
import argparse, concurrent.futures, json, os, re, statistics, subprocess, sys, time

from machine import cpu

# The tutorial DCGAN first: the reference. Names say what differs from it.
RECIPES = {
    "dcgan": [],
    "dcgan-b64": ["--batch-size", "64"],
    "dcgan-b32": ["--batch-size", "32"],
    "dcgan-b16": ["--batch-size", "16"],
    "dcgan-b32-lr1e-4": ["--batch-size", "32", "--lr-g", "1e-4", "--lr-d", "1e-4"],
    "dcgan-b32-lrd4e-4": ["--batch-size", "32", "--lr-d", "4e-4"],
    "dcgan-b32-ema": ["--batch-size", "32", "--ema", "0.999"],
    "dcgan-b16-ema": ["--batch-size", "16", "--ema", "0.999"],
    "dcgan-b32-sn": ["--batch-size", "32", "--spectral-norm", "d"],
    "dcgan-b32-hinge": ["--batch-size", "32", "--loss", "hinge"],
    "dcgan-b32-lsgan": ["--batch-size", "32", "--loss", "lsgan"],
    "dcgan-b32-dsteps2": ["--batch-size", "32", "--d-steps", "2"],
    # The gradient penalties, lazily every 16 steps (StyleGAN2's schedule: the cost of a plain step).
    "dcgan-b32-r1": ["--batch-size", "32", "--r1", "1", "--penalty-every", "16"],
    "dcgan-b32-r3gan": ["--batch-size", "32", "--loss", "rpgan", "--r1", "1", "--r2", "1", "--penalty-every", "16"],
    # Class-conditional (labelled data): the class signal at 2 epochs, tutorial batch against batch 32 + EMA.
    "dcgan-cond": ["--conditional"],
    "dcgan-b32-ema-cond": ["--batch-size", "32", "--ema", "0.999", "--conditional"],
    "dcgan-b32-ema-cond-ac": ["--batch-size", "32", "--ema", "0.999", "--conditional", "--aux-classifier"],
}
GROUPS = {
    "batch": ["dcgan", "dcgan-b64", "dcgan-b32", "dcgan-b16", "dcgan-b32-lr1e-4"],
    "ema": ["dcgan", "dcgan-b32", "dcgan-b32-ema", "dcgan-b16-ema"],
    "loss": ["dcgan", "dcgan-b32", "dcgan-b32-hinge", "dcgan-b32-lsgan", "dcgan-b32-sn", "dcgan-b32-dsteps2", "dcgan-b32-lrd4e-4"],
}
GROUPS["penalties"] = ["dcgan", "dcgan-b32", "dcgan-b32-r1", "dcgan-b32-r3gan"]
GROUPS["conditional"] = ["dcgan-cond", "dcgan-b32-ema-cond", "dcgan-b32-ema-cond-ac"]
# Colour (the emoji set, a folder of colour images): round 3's default first, as the reference.
RECIPES.update({
    "dcgan-cpu": ["--model", "dcgan-cpu"],
    "dcgan-cpu-diffaug": ["--model", "dcgan-cpu", "--augment", "color,translation,cutout"],
    "dcgan-cpu-ada": ["--model", "dcgan-cpu", "--ada"],
    "dcgan-cpu-ada-mirror": ["--model", "dcgan-cpu", "--ada", "--mirror"],
    "sngan": ["--model", "sngan"],
    "sngan-ada-mirror": ["--model", "sngan", "--ada", "--mirror"],
    "catdcgan": ["--model", "catdcgan"],
    "fastgan": ["--model", "fastgan"],
    "fastgan-mirror": ["--model", "fastgan", "--mirror"],
    "fastgan-ada-mirror": ["--model", "fastgan", "--ada", "--mirror"],
    "fastgan-b16": ["--model", "fastgan", "--batch-size", "16"],
    "fastgan-w32": ["--model", "fastgan", "--width", "32"],
})
GROUPS["colour"] = ["dcgan-cpu", "dcgan-cpu-diffaug", "dcgan-cpu-ada", "dcgan-cpu-ada-mirror", "sngan", "sngan-ada-mirror",
                    "fastgan", "fastgan-mirror", "fastgan-ada-mirror", "fastgan-b16", "fastgan-w32"]
GROUPS["all"] = list(RECIPES)


def run(tool, out, name, seed, horizon, threads, data=None, image_size=None):
    """The evaluation of recipe `name`, seed `seed`, after `horizon` — ("epochs", N) or ("minutes", M) —
    trained or continued now."""
    unit, amount = horizon
    flag = "--epochs" if unit == "epochs" else "--minutes"
    directory = os.path.join(out, f"{name}-s{seed}")
    result = os.path.join(directory, f"eval-{unit[0]}{amount:g}.json")
    if os.path.exists(result):
        return json.load(open(result))
    common = ["--threads", str(threads)] if threads else []
    if os.path.exists(os.path.join(directory, "config.json")):
        cmd = [tool, "train", "--resume", directory, flag, f"{amount:g}"] + common
    else:
        given = (["--data", data] if data else []) + (["--image-size", str(image_size)] if image_size else [])
        cmd = [tool, "train", flag, f"{amount:g}", "--seed", str(seed), "--sample-every", "0", "--out", directory] + common + given + RECIPES[name]
    started = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=24 * 3600)
    checkpoints = sorted(d for d in os.listdir(os.path.join(directory, "checkpoints")) if d.startswith("step-"))
    state = json.load(open(os.path.join(directory, "checkpoints", checkpoints[-1], "state.json")))
    report = json.loads(subprocess.run([tool, "eval", directory, "--json"], check=True, capture_output=True, text=True,
                                       timeout=3600).stdout)
    generated = report["generated"]
    config = json.load(open(os.path.join(directory, "config.json")))
    images = state["step"] * config["batchSize"]
    record = {"name": name, "args": RECIPES[name], "seed": seed, "epochs": amount if unit == "epochs" else None,
              "minutes": amount if unit == "minutes" else None, "horizon": f"{amount:g} {unit}", "steps": state["step"],
              "images": images, "seconds_per_image": state["trainingSeconds"] / max(images, 1),
              "seconds_per_epoch": state["trainingSeconds"] / max(state["epoch"], 1), "wall_seconds": time.time() - started,
              "fd": generated["frechetDistance"], "kid": generated.get("kernelDistance"), "score": generated["classifierScore"],
              "recall": generated["recall"], "precision": generated["precision"], "coverage": generated["classCoverage"]}
    if generated.get("classAccuracy") is not None:  # a conditional run: the class signal and diversity within classes
        record.update({key: generated.get(field) for key, field in [
            ("class_accuracy", "classAccuracy"), ("class_accuracies", "classAccuracies"), ("intra_fds", "intraClassFrechetDistances"),
            ("class_recalls", "classRecalls"), ("class_precisions", "classPrecisions")]})
        known = [x for x in record["intra_fds"] or [] if x is not None]
        record["intra_fd"] = statistics.mean(known) if known else None
        record["judge_accuracy"] = report.get("classifierAccuracy")
    json.dump(record, open(result, "w"), indent=1)
    print(json.dumps(record), flush=True)
    return record


def table(records, reference):
    """Markdown: one row per recipe and horizon."""
    rows = {}
    for r in records:
        rows.setdefault((r.get("horizon") or f"{r['epochs']} epochs", r["name"]), []).append(r)
    if any(r.get("minutes") is not None for r in records):
        return budget_table(rows, reference)
    lines = ["| recipe | epochs | seeds | Fréchet distance ↓ mean ± sd (each seed) | vs `%s` | s/epoch | vs `%s` | recall ↑ |" % (reference, reference),
             "|---|---|---|---|---|---|---|---|"]
    for (horizon, name), rs in sorted(rows.items(), key=lambda kv: (int(kv[0][0].split()[0]), list(RECIPES).index(kv[0][1]))):
        epochs = rs[0]["epochs"]
        fds = [r["fd"] for r in rs]
        ref = rows.get((horizon, reference))
        mean = statistics.mean(fds)
        spread = statistics.stdev(fds) if len(fds) > 1 else 0.0
        ratio = f"{mean / statistics.mean(x['fd'] for x in ref):.2f}×" if ref else "–"
        seconds = statistics.mean(r["seconds_per_epoch"] for r in rs)
        time_ratio = f"{seconds / statistics.mean(x['seconds_per_epoch'] for x in ref):.2f}×" if ref else "–"
        each = ", ".join(f"{r['fd']:.1f}" for r in sorted(rs, key=lambda r: r["seed"]))
        lines.append(f"| `{name}` | {epochs} | {len(rs)} | {mean:.1f} ± {spread:.1f} ({each}) | {ratio} | {seconds:.0f} | {time_ratio} | "
                     f"{statistics.mean(r['recall'] for r in rs):.3f} |")
    return "\n".join(lines)


def budget_table(rows, reference):
    """Markdown for wall-clock budgets: what each recipe reached in the same minutes, and how many
    images it saw (its step's cost is in the score)."""
    lines = ["| recipe | budget | seeds | Fréchet distance ↓ mean ± sd (each seed) | vs `%s` | kernel distance ↓ | images seen | ms/image | recall ↑ |"
             % reference, "|---|---|---|---|---|---|---|---|---|"]
    for (horizon, name), rs in sorted(rows.items(), key=lambda kv: (float(kv[0][0].split()[0]), list(RECIPES).index(kv[0][1]))):
        fds = [r["fd"] for r in rs]
        ref = rows.get((horizon, reference))
        mean = statistics.mean(fds)
        spread = statistics.stdev(fds) if len(fds) > 1 else 0.0
        ratio = f"{mean / statistics.mean(x['fd'] for x in ref):.2f}×" if ref else "–"
        kids = [r["kid"] for r in rs if r.get("kid") is not None]
        each = ", ".join(f"{r['fd']:.1f}" for r in sorted(rs, key=lambda r: r["seed"]))
        lines.append(f"| `{name}` | {horizon} | {len(rs)} | {mean:.1f} ± {spread:.1f} ({each}) | {ratio} | "
                     f"{statistics.mean(kids) if kids else float('nan'):.4f} | {statistics.mean(r['images'] for r in rs):.0f} | "
                     f"{1000 * statistics.mean(r['seconds_per_image'] for r in rs):.1f} | {statistics.mean(r['recall'] for r in rs):.3f} |")
    return "\n".join(lines)


def conditional_table(records):
    """Markdown: the class signal of the conditional runs, one row per recipe and horizon (empty without any)."""
    rows = {}
    for r in records:
        if r.get("class_accuracy") is not None:
            rows.setdefault((r["epochs"], r["name"]), []).append(r)
    if not rows:
        return ""
    def spread(values):
        return f"{statistics.mean(values):.1f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.1f}"
    lines = ["| recipe | epochs | seeds | class accuracy % (each seed) | judge on real test images % | intra-class Fréchet ↓ | "
             "Fréchet ↓ | recall within a class ↑ mean (lowest) |", "|---|---|---|---|---|---|---|---|"]
    for (epochs, name), rs in sorted(rows.items(), key=lambda kv: (kv[0][0], list(RECIPES).index(kv[0][1]))):
        accuracies = [100 * r["class_accuracy"] for r in rs]
        each = ", ".join(f"{100 * r['class_accuracy']:.2f}" for r in sorted(rs, key=lambda r: r["seed"]))
        judge = statistics.mean(100 * r["judge_accuracy"] for r in rs if r.get("judge_accuracy") is not None) \
            if any(r.get("judge_accuracy") is not None for r in rs) else float("nan")
        recalls = [statistics.mean(x for x in r["class_recalls"] if x is not None) for r in rs if r.get("class_recalls")]
        lowest = [min(x for x in r["class_recalls"] if x is not None) for r in rs if r.get("class_recalls")]
        recall = f"{statistics.mean(recalls):.3f} ({statistics.mean(lowest):.3f})" if recalls else "–"
        lines.append(f"| `{name}` | {epochs} | {len(rs)} | {spread(accuracies)} ({each}) | {judge:.2f} | "
                     f"{spread([r['intra_fd'] for r in rs])} | {spread([r['fd'] for r in rs])} | {recall} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--swiftgan", default=".build/release/swiftgan")
    p.add_argument("--out", default="runs/recipes")
    p.add_argument("--recipes", default="batch", help="a group (%s) or recipe names, comma-separated" % ", ".join(GROUPS))
    p.add_argument("--epochs", default="1", help="horizons, comma-separated (each continues the shorter)")
    p.add_argument("--minutes", help="wall-clock horizons instead of epochs, comma-separated (swiftgan train --minutes)")
    p.add_argument("--data", help="the dataset (default: swiftgan's, Fashion-MNIST); emoji for the built-in colour set")
    p.add_argument("--image-size", type=int, help="the side images are drawn at (folders and emoji)")
    p.add_argument("--parallel", type=int, default=1, help="runs trained at once (each with --threads)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--threads", type=int, default=0, help="compute threads per run (default: all cores)")
    p.add_argument("--table-only", action="store_true", help="print the table of the evaluations already in OUT")
    p.add_argument("--side-by-side", metavar="PNG", help="also write the final grids of the first seed's runs, in the order of "
                   "--recipes, side by side into this PNG (needs Pillow)")
    p.add_argument("--readme", help="also write the tables into this Markdown file, between its <!-- recipe-table: begin/end --> "
                   "(and <!-- conditional-table: begin/end -->) markers")
    a = p.parse_args()
    names = GROUPS.get(a.recipes) or a.recipes.split(",")
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        sys.exit(f"recipe-search: unknown recipes {unknown}; known: {', '.join(RECIPES)}")
    if a.minutes:
        horizons = [("minutes", m) for m in sorted(float(x) for x in a.minutes.split(","))]
    else:
        horizons = [("epochs", e) for e in sorted(int(x) for x in a.epochs.split(","))]
    seeds = [int(s) for s in a.seeds.split(",")]
    os.makedirs(a.out, exist_ok=True)
    print("# " + cpu(), flush=True)
    records = []
    for horizon in horizons:
        # Seeds outermost within a horizon: a partial search has every recipe at some seeds.
        jobs = [(seed, name) for seed in seeds for name in names]
        if a.table_only:
            for seed, name in jobs:
                path = os.path.join(a.out, f"{name}-s{seed}", f"eval-{horizon[0][0]}{horizon[1]:g}.json")
                if os.path.exists(path):
                    records.append(json.load(open(path)))
            continue
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(a.parallel, 1)) as pool:
            records += list(pool.map(lambda job: run(a.swiftgan, a.out, job[1], job[0], horizon, a.threads, a.data, a.image_size), jobs))
    json.dump({"cpu": cpu(), "runs": records}, open(os.path.join(a.out, "results.json"), "w"), indent=1)
    unconditional = [r for r in records if r.get("class_accuracy") is None]
    main_table = f"CPU: {cpu()}\n\n" + table(unconditional, names[0]) if unconditional else ""
    text = "\n\n".join(t for t in [main_table, conditional_table(records)] if t)
    open(os.path.join(a.out, "table.md"), "w").write(text + "\n")
    print(text)
    if a.side_by_side:
        from PIL import Image  # a test-time tool (.venv), not a dependency of the search
        grids = [Image.open(os.path.join(a.out, f"{name}-s{seeds[0]}", "samples", "final.png")).convert("RGB") for name in names]
        gap = 16
        sheet = Image.new("RGB", (sum(g.width for g in grids) + gap * (len(grids) - 1), max(g.height for g in grids)), "white")
        x = 0
        for g in grids:
            sheet.paste(g, (x, 0))
            x += g.width + gap
        # 256 colours: a third of the bytes of the full-colour sheet, for a figure kept in git.
        sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(a.side_by_side, optimize=True)
    if a.readme:
        document = open(a.readme).read()
        for marker, content in [("recipe-table", main_table), ("conditional-table", conditional_table(records))]:
            if content:
                document = re.sub(f"<!-- {marker}: begin -->.*?<!-- {marker}: end -->",
                                  lambda m: f"<!-- {marker}: begin -->\n{content}\n<!-- {marker}: end -->", document, flags=re.S)
        open(a.readme, "w").write(document)


if __name__ == "__main__":
    main()
