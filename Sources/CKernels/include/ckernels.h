// Element-wise host loops of the engine (the optimizer's update, a moving average), in C so that
// each is compiled for the vector extensions the CPU may have: one binary carries AVX-512, AVX2
// and baseline x86-64 versions, and the widest the CPU has runs. Swift's SIMD types compile for
// the baseline target only (SSE2), where Adam's square root and division run 4 lanes at a time.
// Every version gives the same bits (no fused multiply-adds), so results do not depend on the CPU.
#ifndef SWIFTGAN_CKERNELS_H
#define SWIFTGAN_CKERNELS_H

#include <stddef.h>

enum { SG_KERNELS_BASELINE = 0, SG_KERNELS_AVX2 = 1, SG_KERNELS_AVX512 = 2 };

/// The widest version this CPU runs (SG_KERNELS_…).
int sg_kernel_widest(void);

/// PyTorch's Adam (L2 weight decay `weight_decay` added to the gradient) on `n` elements:
/// m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², p −= step_size · m / (√v · inv_bc2_sqrt + ε),
/// where step_size = lr / (1 − β1ᵗ) and inv_bc2_sqrt = 1 / √(1 − β2ᵗ).
void sg_adam(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
             float step_size, float inv_bc2_sqrt, float epsilon, float weight_decay);

/// y = a·y + b·x on `n` elements.
void sg_axpby(float *y, const float *x, size_t n, float a, float b);

/// The same with the version chosen (`version` ≤ sg_kernel_widest(); −1: the widest), for tests.
void sg_adam_version(int version, float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
                     float step_size, float inv_bc2_sqrt, float epsilon, float weight_decay);
void sg_axpby_version(int version, float *y, const float *x, size_t n, float a, float b);

/// The machine's arithmetic peak, measured: `iterations` rounds of independent vector multiply-adds
/// on one thread (fp32 fused multiply-adds at the widest width the CPU has; bf16 dot products,
/// vdpbf16ps, where it has AVX512-BF16). Returns the floating-point operations done (a multiply
/// and an add each); 0 when the CPU lacks the instructions (bf16).
double sg_peak_fp32(long iterations);
double sg_peak_bf16(long iterations);

#endif
