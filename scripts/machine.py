"""What the scripts say about the machine they measure on: the CPU and its vector extensions."""
import os


def cpu():
    """'AMD EPYC, 2 cores; fma avx avx2 avx512f …' from /proc/cpuinfo."""
    name, flags = "?", []
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and name == "?":
            name = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = [f for f in line.split(":", 1)[1].split() if f.startswith(("avx", "fma", "amx"))]
    return f"{name}, {os.cpu_count()} cores; {' '.join(flags)}"
