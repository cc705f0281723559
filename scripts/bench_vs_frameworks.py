#!/usr/bin/env python3
"""SwiftGAN against PyTorch and TensorFlow on the same CPU, the same GANs and the same training step.

Run through `make bench-vs-frameworks` (which installs PyTorch and TensorFlow into the git-ignored
.venv-bench). The orchestrator alternates the sides (SwiftGAN, PyTorch eager, PyTorch compile,
TensorFlow, TensorFlow with XLA for the MLP, and where the CPU has bf16 dot products SwiftGAN's
`--precision bf16`, PyTorch eager under `torch.autocast(bfloat16)` and TensorFlow under Keras'
`mixed_bfloat16` policy: A B C … A B C …) in fresh processes, one process per measurement, so each
side's peak memory is its own. It prints a table at the end, headed by the CPU and its vector
extensions; each SwiftGAN precision is compared with the best framework at the same precision, and
each side's rate as a fraction of the machine's arithmetic peak (`swiftgan bench --suite peak`: every core
running vector multiply-adds; bf16 dot products for the bf16 sides).

Each workload is written here layer for layer as SwiftGAN's preset (Sources/GANModels/Networks.swift), in
PyTorch and in Keras, and trained with PyTorch's reference DCGAN step: one G forward per step,
reused detached for D's fake batch and again for G's update through the updated D; BCE with
logits, real label 0.9, Adam(2e-4, β 0.5, 0.999).
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import threading
import time

WORKLOADS = {
    # name: (preset, image size, channels, batch, data)
    "mlp": ("mlp", 28, 1, 128, "fashion-mnist"),
    "dcgan28": ("dcgan", 28, 1, 128, "fashion-mnist"),
    "dcgan64": ("dcgan", 64, 3, 64, "synthetic"),
    "catdcgan": ("catdcgan", 128, 3, 16, "synthetic"),
}
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
LATENT = 100


# ----------------------------------------------------------------------------------------------
# PyTorch side (imported lazily so the orchestrator itself needs only the standard library)

def build(name):
    import torch.nn as nn
    preset, size, ch, _, _ = WORKLOADS[name]

    class View(nn.Module):
        def __init__(self, *shape):
            super().__init__()
            self.shape = shape

        def forward(self, x):
            return x.view(x.shape[0], *self.shape)

    lrelu = lambda: nn.LeakyReLU(0.2, inplace=True)
    if preset == "mlp":
        px = size * size * ch
        g = nn.Sequential(
            nn.Linear(LATENT, 128), lrelu(),
            nn.Linear(128, 256), nn.BatchNorm1d(256, eps=0.8, momentum=0.1), lrelu(),
            nn.Linear(256, 512), nn.BatchNorm1d(512, eps=0.8, momentum=0.1), lrelu(),
            nn.Linear(512, 1024), nn.BatchNorm1d(1024, eps=0.8, momentum=0.1), lrelu(),
            nn.Linear(1024, px), nn.Tanh(), View(ch, size, size))
        d = nn.Sequential(nn.Flatten(), nn.Linear(px, 512), lrelu(), nn.Linear(512, 256), lrelu(), nn.Linear(256, 1))
        latent = (LATENT,)
    elif preset == "dcgan" and size == 28:
        # TensorFlow's 'same' 5×5 layers; PyTorch pads symmetrically (padding 2, output_padding 1
        # for the stride-2 transposed ones): the same shapes and work, padding placed differently.
        w = 64
        g = nn.Sequential(
            nn.Linear(LATENT, 7 * 7 * 4 * w, bias=False), nn.BatchNorm1d(7 * 7 * 4 * w), lrelu(), View(4 * w, 7, 7),
            nn.ConvTranspose2d(4 * w, 2 * w, 5, 1, 2, bias=False), nn.BatchNorm2d(2 * w), lrelu(),
            nn.ConvTranspose2d(2 * w, w, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(w), lrelu(),
            nn.ConvTranspose2d(w, ch, 5, 2, 2, output_padding=1, bias=False), nn.Tanh())
        d = nn.Sequential(
            nn.Conv2d(ch, w, 5, 2, 2), lrelu(),
            nn.Conv2d(w, 2 * w, 5, 2, 2), nn.BatchNorm2d(2 * w), lrelu(),
            nn.Conv2d(2 * w, 4 * w, 5, 2, 2), nn.BatchNorm2d(4 * w), lrelu(),
            nn.Flatten(), nn.Linear(4 * w * 4 * 4, 1))
        latent = (LATENT,)
    elif preset == "dcgan":
        # PyTorch's reference DCGAN (examples/dcgan), logits out of D.
        w = 64
        g = nn.Sequential(
            nn.ConvTranspose2d(LATENT, 8 * w, 4, 1, 0, bias=False), nn.BatchNorm2d(8 * w), nn.ReLU(True),
            nn.ConvTranspose2d(8 * w, 4 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(True),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(True),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True),
            nn.ConvTranspose2d(w, ch, 4, 2, 1, bias=False), nn.Tanh())
        d = nn.Sequential(
            nn.Conv2d(ch, w, 4, 2, 1, bias=False), lrelu(),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), lrelu(),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * w), lrelu(),
            nn.Conv2d(4 * w, 8 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(8 * w), lrelu(),
            nn.Conv2d(8 * w, 1, 4, 1, 0, bias=False), nn.Flatten())
        latent = (LATENT, 1, 1)
    else:  # catdcgan
        w = 64
        layers = [nn.Linear(LATENT, 8 * 8 * 16 * w), lrelu(), View(16 * w, 8, 8)]
        c = 16 * w
        for _ in range(4):
            layers += [nn.ConvTranspose2d(c, c // 2, 5, 2, 2, output_padding=1), nn.BatchNorm2d(c // 2), lrelu()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, ch, 5, 1, 2), nn.Tanh()]
        g = nn.Sequential(*layers)
        layers, c = [], ch
        for out, s in [(w, 2), (2 * w, 2), (4 * w, 2), (8 * w, 1), (16 * w, 2)]:
            layers += [nn.Conv2d(c, out, 5, s, 2), nn.BatchNorm2d(out), lrelu()]
            c = out
        d = nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * w * 8 * 8, 1))
        latent = (LATENT,)
    init = lambda m: nn.init.normal_(m.weight, 0, 0.02) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) else None
    g.apply(init)
    d.apply(init)
    return g, d, latent


def batch_size(name, args):
    """The workload's batch (the comparison's), or `--batch-size` where given."""
    return args.batch_size or WORKLOADS[name][3]


def real_batches(name, count, batch):
    """`count` batches [N, C, H, W] of `batch` images in [-1, 1] as NumPy arrays: the real data
    (Fashion-MNIST) or uniform noise images (4 batches, reused)."""
    import numpy as np
    _, size, ch, _, data = WORKLOADS[name]
    rng = np.random.default_rng(0)
    if data == "fashion-mnist":
        with gzip.open(FASHION, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
        order = rng.permutation(len(raw))
        return [raw[order[i * batch:(i + 1) * batch]].astype(np.float32) / 127.5 - 1 for i in range(count)]
    return [rng.uniform(-1, 1, (batch, ch, size, size)).astype(np.float32) for _ in range(min(count, 4))]


def torch_worker(args):
    import torch
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    name = args.workload
    batch = batch_size(name, args)
    g, d, latent = build(name)
    # bf16: PyTorch's autocast (its mixed precision for CPUs: convolutions and matmuls in bf16,
    # the rest as autocast decides); fp32 otherwise.
    import contextlib
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.precision == "bf16" else contextlib.nullcontext
    if args.suite == "generation":
        g.eval()
        run = torch.compile(g) if args.mode == "compile" else g
        z = torch.randn(args.count, *latent)
        # As SwiftGAN's Sampler: batches of at most 64 of one size (the last padded), images kept.
        batches = max(1, -(-args.count // 64))
        per = -(-args.count // batches)

        def gen():
            with torch.inference_mode(), autocast():
                parts = []
                for s in range(0, args.count, per):
                    zb = z[s:s + per]
                    if len(zb) < per:
                        zb = torch.cat([zb, z[:per - len(zb)]])
                    parts.append(run(zb)[:min(per, args.count - s)].float())
                return torch.cat(parts)

        with torch.inference_mode(), autocast():  # warm-up (and compilation): one batch
            run(z[:per])
        return report_generation(gen, args.count)
    # torch.compile compiles the two networks (forward and backward graphs); the step around them
    # stays eager, as in PyTorch's own recipes (compiling the whole step with two backward passes
    # through one G output is not supported).
    gm, dm = (torch.compile(g), torch.compile(d)) if args.mode == "compile" else (g, d)
    optG = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    crit = torch.nn.BCEWithLogitsLoss()
    real_target = torch.full((batch, 1), 0.9)
    ones = torch.ones(batch, 1)
    zeros = torch.zeros(batch, 1)

    def step(real):
        z = torch.randn(batch, *latent)
        d.zero_grad()
        with autocast():
            fake = gm(z)
            err_d = crit(dm(real), real_target) + crit(dm(fake.detach()), zeros)
        err_d.backward()
        optD.step()
        g.zero_grad()
        with autocast():
            err_g = crit(dm(fake), ones)
        err_g.backward()
        optG.step()
        return err_d, err_g

    run = step
    batches = [torch.from_numpy(b) for b in real_batches(name, args.warmup + args.steps, batch)]
    for i in range(args.warmup):
        run(batches[i % len(batches)])
    report_training(lambda i: [e.item() for e in run(batches[i % len(batches)])], args, batch)


# ----------------------------------------------------------------------------------------------
# TensorFlow side: Keras layers (channels-last, TensorFlow's own CPU layout), the step as a
# @tf.function, with XLA (jit_compile) where asked.

def build_keras(name):
    import tensorflow as tf
    from tensorflow.keras import layers as L
    preset, size, ch, _, _ = WORKLOADS[name]
    init = tf.keras.initializers.RandomNormal(0, 0.02)
    lrelu = lambda: L.LeakyReLU(0.2)
    if preset == "mlp":
        px = size * size * ch
        dense = lambda n: L.Dense(n, kernel_initializer="he_uniform")
        bn = lambda: L.BatchNormalization(momentum=0.1, epsilon=0.8)
        g = tf.keras.Sequential([tf.keras.Input((LATENT,)), dense(128), lrelu(), dense(256), bn(), lrelu(),
                                 dense(512), bn(), lrelu(), dense(1024), bn(), lrelu(),
                                 L.Dense(px, activation="tanh", kernel_initializer="he_uniform"), L.Reshape((size, size, ch))])
        d = tf.keras.Sequential([tf.keras.Input((size, size, ch)), L.Flatten(), dense(512), lrelu(), dense(256), lrelu(),
                                 dense(1)])
        return g, d, (LATENT,)
    bn = lambda: L.BatchNormalization(momentum=0.9, epsilon=1e-5)
    conv = lambda n, k, s, pad="same", bias=True: L.Conv2D(n, k, s, pad, use_bias=bias, kernel_initializer=init)
    deconv = lambda n, k, s, pad="same", bias=False: L.Conv2DTranspose(n, k, s, pad, use_bias=bias, kernel_initializer=init)
    if preset == "dcgan" and size == 28:
        w = 64
        g = [tf.keras.Input((LATENT,)), L.Dense(7 * 7 * 4 * w, use_bias=False, kernel_initializer=init), bn(), lrelu(),
             L.Reshape((7, 7, 4 * w)), deconv(2 * w, 5, 1), bn(), lrelu(), deconv(w, 5, 2), bn(), lrelu(),
             deconv(ch, 5, 2), L.Activation("tanh")]
        d = [tf.keras.Input((size, size, ch)), conv(w, 5, 2), lrelu(), conv(2 * w, 5, 2), bn(), lrelu(),
             conv(4 * w, 5, 2), bn(), lrelu(), L.Flatten(), L.Dense(1, kernel_initializer=init)]
        latent = (LATENT,)
    elif preset == "dcgan":
        # PyTorch's k4 s2 p1 is TensorFlow's 'same' at stride 2 with a 4×4 kernel.
        w = 64
        g = [tf.keras.Input((1, 1, LATENT)), deconv(8 * w, 4, 1, "valid"), bn(), L.ReLU()]
        c = 8 * w
        while c > w:
            g += [deconv(c // 2, 4, 2), bn(), L.ReLU()]
            c //= 2
        g += [deconv(ch, 4, 2), L.Activation("tanh")]
        d = [tf.keras.Input((size, size, ch)), conv(w, 4, 2, bias=False), lrelu()]
        for n in (2 * w, 4 * w, 8 * w):
            d += [conv(n, 4, 2, bias=False), bn(), lrelu()]
        d += [conv(1, 4, 1, "valid", bias=False), L.Flatten()]
        latent = (1, 1, LATENT)
    else:  # catdcgan
        w = 64
        g = [tf.keras.Input((LATENT,)), L.Dense(8 * 8 * 16 * w, kernel_initializer=init), lrelu(), L.Reshape((8, 8, 16 * w))]
        c = 16 * w
        for _ in range(4):
            g += [deconv(c // 2, 5, 2, bias=True), bn(), lrelu()]
            c //= 2
        g += [deconv(ch, 5, 1, bias=True), L.Activation("tanh")]
        d = [tf.keras.Input((size, size, ch))]
        for n, st in [(w, 2), (2 * w, 2), (4 * w, 2), (8 * w, 1), (16 * w, 2)]:
            d += [conv(n, 5, st), bn(), lrelu()]
        d += [L.Flatten(), L.Dense(1, kernel_initializer=init)]
        latent = (LATENT,)
    return tf.keras.Sequential(g), tf.keras.Sequential(d), latent


def tf_worker(args):
    import numpy as np
    import tensorflow as tf
    tf.random.set_seed(0)
    name = args.workload
    batch = batch_size(name, args)
    xla = args.mode == "xla"
    if args.precision == "bf16":  # Keras' mixed precision for CPUs: bf16 compute, fp32 variables
        tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    g, d, latent = build_keras(name)
    if args.suite == "generation":
        gen_batch = tf.function(lambda z: g(z, training=False), jit_compile=xla)
        z = tf.random.normal((args.count, *latent))
        batches = max(1, -(-args.count // 64))
        per = -(-args.count // batches)
        zs = []
        for s in range(0, args.count, per):
            zb = z[s:s + per]
            if zb.shape[0] < per:
                zb = tf.concat([zb, z[:per - zb.shape[0]]], 0)
            zs.append(zb)

        def gen():
            return [tf.cast(gen_batch(zb)[:min(per, args.count - i * per)], tf.float32).numpy() for i, zb in enumerate(zs)]

        gen_batch(zs[0]).numpy()  # warm-up (tracing, compilation)
        return report_generation(gen, args.count)
    opt_g = tf.keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    opt_d = tf.keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    opt_g.build(g.trainable_variables)
    opt_d.build(d.trainable_variables)
    # The loss in fp32 (under mixed_bfloat16 the logits are bf16, as Keras' own losses would cast them).
    bce = lambda logits, target: tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        tf.fill(tf.shape(logits), target), tf.cast(logits, tf.float32)))

    @tf.function(jit_compile=xla)
    def step(real):
        z = tf.random.normal((batch, *latent))
        with tf.GradientTape() as tape_g:
            fake = g(z, training=True)
            with tf.GradientTape() as tape_d:
                err_d = bce(d(real, training=True), 0.9) + bce(d(tf.stop_gradient(fake), training=True), 0.0)
            opt_d.apply_gradients(zip(tape_d.gradient(err_d, d.trainable_variables), d.trainable_variables))
            err_g = bce(d(fake, training=True), 1.0)
        opt_g.apply_gradients(zip(tape_g.gradient(err_g, g.trainable_variables), g.trainable_variables))
        return err_d, err_g

    batches = [tf.constant(np.transpose(b, (0, 2, 3, 1))) for b in real_batches(name, args.warmup + args.steps, batch)]
    for i in range(args.warmup):
        step(batches[i % len(batches)])
    report_training(lambda i: [float(e) for e in step(batches[i % len(batches)])], args, batch)


def report_generation(gen, count):
    """Times `gen` (all `count` images), repeated until 3 s have passed (1 000 MLP images take
    30 ms), and prints the rate as the orchestrator reads it."""
    t, passes = time.perf_counter(), 0
    while True:
        gen()
        passes += 1
        if time.perf_counter() - t >= 3:
            break
    print(json.dumps({"images_per_second": passes * count / (time.perf_counter() - t), "peak_rss_mib": peak_rss_mib()}))


def report_training(step, args, batch):
    """Times `args.steps` calls of `step(i)` (batch index i after the warm-up; it returns the two
    losses as numbers, which waits for the step to finish) and prints the result."""
    times = []
    for i in range(args.steps):
        t = time.perf_counter()
        e_d, e_g = step(args.warmup + i)
        times.append(time.perf_counter() - t)
    print(json.dumps({"images_per_second": args.steps * batch / sum(times), "step_seconds": times,
                      "loss_d": e_d, "loss_g": e_g, "peak_rss_mib": peak_rss_mib()}))


def torch_peak(args):
    import torch
    torch.set_num_threads(os.cpu_count())
    n = 2048
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best = min(_timed(lambda: torch.mm(a, b)) for _ in range(5))
    print(json.dumps({"gflops": 2 * n ** 3 / best / 1e9}))


def peak_rss_mib():
    """This process's peak resident memory since its exec (VmHWM; ru_maxrss would also count the
    forked parent's pages from before the exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def flops(name, batch):
    """Multiply-add work of one training step's convolutions and dense layers (2 FLOPs per MAC),
    counting what the algorithm needs: G forward; D forward, weight and input gradient (not the
    first layer's input) on the real and the fake batch; for G's update, D forward and input
    gradient, then G's weight gradient and input gradient (not the first layer's). PyTorch also
    computes D's weight gradient in G's update; that extra work is not counted for either side."""
    import torch
    import torch.nn as nn
    g, d, latent = build(name)

    def taps(inp, out, k, s, p, transposed):
        """Along one axis, the (output position, tap) pairs whose input is inside the input (for a
        transposed convolution, the (input position, tap) pairs that land inside the output): the
        kernels skip the taps on padding, as SwiftGAN's profile counts them (ConvShape.taps)."""
        a, b = (inp, out) if transposed else (out, inp)
        return sum(1 for i in range(a) for t in range(k) if 0 <= i * s - p + t < b)

    def macs(model, x):
        per = []
        def hook(m, inp, out):
            if isinstance(m, nn.Linear):
                per.append(m.in_features * m.out_features)
            elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                t = isinstance(m, nn.ConvTranspose2d)
                (ih, iw), (oh, ow) = inp[0].shape[2:], out.shape[2:]
                per.append(m.in_channels * m.out_channels
                           * taps(ih, oh, m.kernel_size[0], m.stride[0], m.padding[0], t)
                           * taps(iw, ow, m.kernel_size[1], m.stride[1], m.padding[1], t))
        hs = [m.register_forward_hook(hook) for m in model.modules()]
        with torch.no_grad():
            y = model(x)
        for h in hs:
            h.remove()
        return per, y

    g.eval(); d.eval()
    pg, img = macs(g, torch.randn(2, *latent))
    pd, _ = macs(d, img)
    fg, fd = sum(pg), sum(pd)
    step = 3 * fg - pg[0] + 2 * (3 * fd - pd[0]) + 2 * fd
    return {"train_step": 2 * batch * step, "generate_image": 2 * fg}


# ----------------------------------------------------------------------------------------------
# Orchestrator

def run_child(cmd):
    """Runs `cmd`, returns (parsed last JSON line, its peak RSS in MiB as it reports it)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_chunks, err_chunks = [], []
    # Reap with wait4 (for the child's own rusage) while two threads drain the pipes.
    def drain(stream, sink):
        sink.append(stream.read())
    ts = [threading.Thread(target=drain, args=(p.stdout, out_chunks)), threading.Thread(target=drain, args=(p.stderr, err_chunks))]
    for t in ts:
        t.start()
    _, status, usage = os.wait4(p.pid, 0)
    for t in ts:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out, err = "".join(out_chunks), "".join(err_chunks)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} … failed with status {p.returncode}:\n{err.strip()[-3000:]}")
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit(f"{' '.join(cmd[:6])} … printed no result:\n{out[-2000:]}\n{err[-2000:]}")
    result = json.loads(lines[-1])
    return result, result.get("peak_rss_mib") or usage.ru_maxrss / 1024


def summary(values):
    return statistics.median(values), min(values), max(values)


def cpu_description():
    """The CPU model and the vector extensions that decide the kernels, from /proc/cpuinfo."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"]
    return model, [f for f in wanted if f in flags], "avx512_bf16" in flags or "amx_bf16" in flags


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swiftgan", default=".build/release/swiftgan", help="the swiftgan executable")
    ap.add_argument("--workloads", default="mlp,dcgan28,dcgan64,catdcgan")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (one process per side per round)")
    ap.add_argument("--frameworks", default="torch-eager,torch-compile,tf,tf-xla",
                    help="framework sides: torch-eager, torch-compile, tf (@tf.function), tf-xla (MLP only)")
    ap.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                    help="also run SwiftGAN's bf16 training (auto: where the CPU has bf16 dot products)")
    ap.add_argument("--generation-count", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, help="the training batch of every workload (default: each workload's own, "
                    "the table's: mlp and dcgan28 128, dcgan64 64, catdcgan 16); the steps scale to as many images")
    ap.add_argument("--json", help="also write the results here")
    # worker mode (one measurement in this process)
    ap.add_argument("--worker", choices=["torch", "tf", "torch-peak"])
    ap.add_argument("--suite", default="training", choices=["training", "generation"])
    ap.add_argument("--workload")
    ap.add_argument("--mode", default="eager")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--steps", type=int)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--count", type=int, default=1000)
    args = ap.parse_args()
    if args.worker == "torch":
        return torch_worker(args)
    if args.worker == "tf":
        return tf_worker(args)
    if args.worker == "torch-peak":
        return torch_peak(args)

    import importlib.metadata as meta
    steps = {"mlp": 60, "dcgan28": 12, "dcgan64": 6, "catdcgan": 3}
    warmups = {"mlp": 10, "dcgan28": 3, "dcgan64": 2, "catdcgan": 1}
    frameworks = [m for m in args.frameworks.split(",") if m]
    for f in frameworks:
        if f not in ("torch-eager", "torch-compile", "tf", "tf-xla"):
            raise SystemExit(f"--frameworks: unknown side '{f}' (expected torch-eager, torch-compile, tf, tf-xla)")
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            raise SystemExit(f"--workloads: unknown workload '{w}' (expected {', '.join(WORKLOADS)})")
    model, extensions, has_bf16 = cpu_description()
    bf16 = args.bf16 == "on" or (args.bf16 == "auto" and has_bf16)
    me = [sys.executable, os.path.abspath(__file__)]
    sg = [args.swiftgan, "bench"]
    swift_version = subprocess.run(sg[:1] + ["--version"], capture_output=True, text=True).stdout.strip()
    versions = {"torch": meta.version("torch"), "tensorflow": meta.version("tensorflow-cpu") if frameworks else ""}
    print(f"CPU: {model} ({os.cpu_count()} cores) — {' '.join(extensions) or 'no AVX2/AVX-512'}", flush=True)
    print(f"SwiftGAN {swift_version}; PyTorch {versions['torch']}; TensorFlow {versions['tensorflow']}", flush=True)

    # The machine's arithmetic peak (every core running vector multiply-adds; bf16 dot products for
    # the bf16 sides), and for context the matrix products' rates of oneDNN and PyTorch.
    measured = [run_child(sg + ["--suite", "peak", "--json"])[0] for _ in range(2)]
    peak = max(m["fp32_gflops"] for m in measured)
    bf16_peak = max((m["bf16_gflops"] or 0) for m in measured) if bf16 else peak
    torch_mm = {p: max(run_child(me + ["--worker", "torch-peak", "--precision", p])[0]["gflops"] for _ in range(2))
                for p in (["fp32", "bf16"] if bf16 else ["fp32"])}
    print(f"arithmetic peak: fp32 {peak:.1f} GF/s" + (f", bf16 {bf16_peak:.1f} GF/s" if bf16 else ""), flush=True)
    print(f"matrix product 2048³: oneDNN fp32 {max(m['sgemm_gflops'] for m in measured):.1f} GF/s; PyTorch "
          + ", ".join(f"{p} {g:.1f} GF/s" for p, g in torch_mm.items()), flush=True)

    results = []
    for w in workloads:
        batch = batch_size(w, args)
        work = flops(w, batch)
        for suite in ["training", "generation"]:
            size = (["--steps", str(max(1, steps[w] * WORKLOADS[w][3] // batch)), "--warmup", str(warmups[w])]
                    + (["--batch-size", str(batch)] if args.batch_size else []) if suite == "training"
                    else ["--count", str(args.generation_count)])
            sides = {"swiftgan": sg + ["--suite", suite, "--workload", w, "--json"] + size}
            if bf16 and w != "mlp":  # bf16 changes only the convolutions
                sides["swiftgan-bf16"] = sides["swiftgan"] + ["--precision", "bf16"]
            for f in frameworks:
                if f == "tf-xla" and w != "mlp":
                    continue  # XLA is measured where it pays: the dense MLP
                worker, mode = f.split("-", 1) if "-" in f else (f, "function")
                sides[f] = me + ["--worker", worker, "--suite", suite, "--workload", w, "--mode", mode] + size
                # The frameworks' own bf16 (autocast, mixed_bfloat16), eager PyTorch and TensorFlow's graph:
                # each SwiftGAN precision is compared with the frameworks' same precision.
                if bf16 and w != "mlp" and f in ("torch-eager", "tf"):
                    sides[f + "-bf16"] = sides[f] + ["--precision", "bf16"]
            got = {k: [] for k in sides}
            mem = {k: [] for k in sides}
            for r in range(args.rounds):
                for k, cmd in sides.items():  # alternating: A B C, A B C, …
                    if got[k] is None:
                        continue
                    try:
                        out, rss = run_child(cmd)
                    except SystemExit as e:
                        if k in ("torch-compile", "tf-xla"):
                            print(f"  {w} {suite} {k}: unavailable ({str(e).splitlines()[-1][:200]})", flush=True)
                            got[k] = None
                            continue
                        raise
                    got[k].append(out["images_per_second"])
                    mem[k].append(rss)
                    print(f"  round {r + 1} {w:9s} {suite:10s} {k:14s} {out['images_per_second']:9.1f} img/s  {rss:7.0f} MiB", flush=True)
            row = {"workload": w, "suite": suite, "batch": batch, "sides": {}}
            for k in sides:
                if not got[k]:
                    continue
                med, lo, hi = summary(got[k])
                per_image = work["train_step"] / batch if suite == "training" else work["generate_image"]
                row["sides"][k] = {"median": med, "min": lo, "max": hi, "peak_mib": max(mem[k]),
                                   "peak_fraction": med * per_image / ((bf16_peak if k.endswith("-bf16") else peak) * 1e9)}
            results.append(row)

    print()
    print(f"CPU: {model} — {' '.join(extensions)}")
    print(f"{'workload':10s} {'':10s} {'SwiftGAN img/s (min–max)':>28s} {'best framework img/s (min–max)':>38s} {'ratio':>6s} "
          f"{'mem S/F MiB':>13s} {'peak% S/F':>10s}")
    for row in results:
        sides = row["sides"]
        for k in [k for k in sides if k.startswith("swiftgan")]:
            s = sides[k]
            # The frameworks at the same precision as this SwiftGAN side.
            frames = {f: v for f, v in sides.items() if not f.startswith("swiftgan") and f.endswith("-bf16") == k.endswith("-bf16")}
            best_k = max(frames, key=lambda f: frames[f]["median"]) if frames else None
            t = frames.get(best_k)
            label = row["suite"] + (" bf16" if k.endswith("bf16") else "")
            line = f"{row['workload']:10s} {label:14s} {s['median']:9.1f} ({s['min']:.1f}–{s['max']:.1f})"
            if t:
                line += (f"{'':3s}{t['median']:9.1f} ({t['min']:.1f}–{t['max']:.1f}) {best_k:13s} "
                         f"{s['median'] / t['median']:6.2f} {s['peak_mib']:6.0f}/{t['peak_mib']:<6.0f} "
                         f"{100 * s['peak_fraction']:4.0f}/{100 * t['peak_fraction']:<4.0f}")
            print(line)
            for f, v in frames.items():
                if f != best_k:
                    print(f"{'':21s}({f}: {v['median']:.1f} img/s, ratio {s['median'] / v['median']:.2f})")
    print(f"\nratio = SwiftGAN / the best framework side at the same precision (fp32 or bf16), medians of {args.rounds} alternating rounds; memory = peak RSS of "
          f"each process; peak% = the algorithm's conv/dense FLOPs per second (taps on padding not counted) over this machine's "
          f"arithmetic peak, fp32 ({peak:.0f} GF/s)" + (f" or for bf16 sides bf16 dot products ({bf16_peak:.0f} GF/s)" if bf16 else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": model, "extensions": extensions, "peak_gflops": peak, "bf16_peak_gflops": bf16_peak, "versions": versions,
                       "swiftgan": swift_version, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
