#!/usr/bin/env python3
"""How well `swiftgan project` finds held-out pictures in a generator, measured the way anyone can
rerun it: the first N images of Fashion-MNIST's test split (never seen in training) are projected
into a run's generator, and each one's mean absolute pixel error and perceptual distance are
compared with those of the nearest of B random pictures of the same generator (`--baseline B`).

    scripts/projection-benchmark.py RUN [--count 200] [--baseline 10000] [--out runs/projection]
                                        [--figure docs/projection-fashion.png] [--readme docs/guide/projection.md]

Prints (and writes to OUT/table.md) the table with the CPU at its head; --figure keeps the first 16
targets above their reconstructions (needs Pillow: the test environment's .venv has it); --readme
writes the table and the figure's link between <!-- projection-figure: begin/end -->.
"""
import argparse, gzip, json, os, re, struct, subprocess, time, zlib

from machine import cpu

DATA = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def png(path, pixels, width, height):
    """An 8-bit grey PNG, written with zlib alone (the script needs nothing installed)."""
    raw = b"".join(b"\x00" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run")
    p.add_argument("--swiftgan", default=".build/release/swiftgan")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--baseline", type=int, default=10000)
    p.add_argument("--out", default="runs/projection")
    p.add_argument("--figure")
    p.add_argument("--readme")
    a = p.parse_args()
    targets = os.path.join(a.out, "targets")
    os.makedirs(targets, exist_ok=True)
    data = gzip.open(DATA).read()
    n, h, w = struct.unpack(">III", data[4:16])
    for i in range(min(a.count, n)):
        png(os.path.join(targets, f"test-{i:05d}.png"), data[16 + i * h * w:16 + (i + 1) * h * w], w, h)
    started = time.time()
    subprocess.run([a.swiftgan, "project", a.run, targets, "--out", os.path.join(a.out, "z.npy"), "--baseline", str(a.baseline)],
                   check=True, timeout=6 * 3600)
    seconds = time.time() - started
    report = json.load(open(os.path.join(a.out, "z.json")))
    pixel = [e["pixel_error"] for e in report["images"]]
    perceptual = [e["perceptual_distance"] for e in report["images"]]
    base = report["baseline"]
    mean = lambda xs: sum(xs) / len(xs)
    wins = sum(p < b for p, b in zip(pixel, base["pixel_errors"]))
    table = (f"CPU: {cpu()}\n\n"
             f"{len(pixel)} Fashion-MNIST test images projected into `{os.path.basename(os.path.normpath(a.run))}` "
             f"({seconds:.0f} s for all, with the baseline)\n\n"
             "| | mean absolute pixel error (0–1) | perceptual distance (D's features) |\n|---|---|---|\n"
             f"| `swiftgan project` (200 steps × 4 restarts) | {mean(pixel):.4f} | {mean(perceptual):.4f} |\n"
             f"| nearest of {base['count']} random pictures | {mean(base['pixel_errors']):.4f} | {mean(base['perceptual_distances']):.4f} |\n"
             f"| ratio | **{mean(pixel) / mean(base['pixel_errors']):.2f}×** | **{mean(perceptual) / mean(base['perceptual_distances']):.2f}×** |\n\n"
             f"The projection is nearer in pixels for {wins} of {len(pixel)} images.")
    open(os.path.join(a.out, "table.md"), "w").write(table + "\n")
    print(table)
    if a.figure:
        from PIL import Image  # a test-time tool (.venv), not a dependency of the benchmark
        figure = Image.open(os.path.join(a.out, "z.png"))
        # Rows of 8 tiles of 28 pixels with 2 of padding: two pairs of rows are the first 16 targets.
        figure.crop((0, 0, figure.width, 4 * (h + 2) + 2)).resize((figure.width * 3, (4 * (h + 2) + 2) * 3), Image.NEAREST).save(a.figure, optimize=True)
    if a.readme:
        document = open(a.readme).read()
        link = os.path.relpath(a.figure, os.path.dirname(os.path.abspath(a.readme))) if a.figure else None
        content = table + (f"\n\n![The first 16 test images (odd rows) above their projections (even rows)]({link})" if link else "")
        document = re.sub("<!-- projection-figure: begin -->.*?<!-- projection-figure: end -->",
                          lambda m: f"<!-- projection-figure: begin -->\n{content}\n<!-- projection-figure: end -->", document, flags=re.S)
        open(a.readme, "w").write(document)


if __name__ == "__main__":
    main()
