#include "ckernels.h"

// No fused multiply-adds: every version rounds each product and sum as the baseline one does,
// so a run's numbers do not depend on the CPU it ran on (square root and division are exact in
// IEEE arithmetic at any width).
#pragma STDC FP_CONTRACT OFF

// The square root of a float or of each lane (IEEE, no errno).
#define SG_SQRT(x) __builtin_elementwise_sqrt(x)

// Each loop is written once over a vector of W floats (clang's vector extension: the lanes are
// explicit, so a version is vectorized at any optimization level, tests' debug builds included),
// then finished one element at a time with the same operations.
#define SG_LOAD(type, q) ({ type value_; __builtin_memcpy(&value_, (q), sizeof value_); value_; })
#define SG_STORE(q, value) do { __typeof__(value) v_ = (value); __builtin_memcpy((q), &v_, sizeof v_); } while (0)

#define SG_ADAM_STEP(type, at)                                                                 \
    do {                                                                                       \
        type pi = SG_LOAD(type, p + (at)), gi = SG_LOAD(type, g + (at));                       \
        if (weight_decay != 0) gi = gi + weight_decay * pi;                                    \
        type mi = beta1 * SG_LOAD(type, m + (at)) + c1 * gi;                                   \
        type vi = beta2 * SG_LOAD(type, v + (at)) + c2 * gi * gi;                              \
        SG_STORE(m + (at), mi);                                                                \
        SG_STORE(v + (at), vi);                                                                \
        SG_STORE(p + (at), pi - step_size * mi / (SG_SQRT(vi) * inv_bc2_sqrt + epsilon));      \
    } while (0)

#define SG_ADAM_BODY(W)                                                                        \
    typedef float lanes __attribute__((ext_vector_type(W)));                                   \
    const float c1 = 1 - beta1, c2 = 1 - beta2;                                                \
    size_t i = 0;                                                                              \
    for (; i + (W) <= n; i += (W)) SG_ADAM_STEP(lanes, i);                                     \
    for (; i < n; i++) SG_ADAM_STEP(float, i);

#define SG_AXPBY_BODY(W)                                                                       \
    typedef float lanes __attribute__((ext_vector_type(W)));                                   \
    size_t i = 0;                                                                              \
    for (; i + (W) <= n; i += (W)) SG_STORE(y + i, a * SG_LOAD(lanes, y + i) + b * SG_LOAD(lanes, x + i)); \
    for (; i < n; i++) y[i] = a * y[i] + b * x[i];

// One version per instruction set (16 lanes for AVX-512, 8 for AVX2, 4 for SSE2); the widest
// the CPU has is chosen once.
#define ADAM_PARAMS (float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2, \
                     float step_size, float inv_bc2_sqrt, float epsilon, float weight_decay)
#define ADAM_ARGS (p, g, m, v, n, beta1, beta2, step_size, inv_bc2_sqrt, epsilon, weight_decay)
#define AXPBY_PARAMS (float *y, const float *x, size_t n, float a, float b)

static void adam_baseline ADAM_PARAMS { SG_ADAM_BODY(4) }
static void axpby_baseline AXPBY_PARAMS { SG_AXPBY_BODY(4) }
#if defined(__x86_64__)
__attribute__((target("avx2"))) static void adam_avx2 ADAM_PARAMS { SG_ADAM_BODY(8) }
__attribute__((target("avx2"))) static void axpby_avx2 AXPBY_PARAMS { SG_AXPBY_BODY(8) }
__attribute__((target("avx512f"))) static void adam_avx512 ADAM_PARAMS { SG_ADAM_BODY(16) }
__attribute__((target("avx512f"))) static void axpby_avx512 AXPBY_PARAMS { SG_AXPBY_BODY(16) }
#endif

int sg_kernel_widest(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return SG_KERNELS_AVX512;
    if (__builtin_cpu_supports("avx2")) return SG_KERNELS_AVX2;
#endif
    return SG_KERNELS_BASELINE;
}

static int chosen = -1;

static int version(int requested) {
    if (requested >= 0) return requested;
    int known = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (known < 0) {  // threads that race here store the same value
        known = sg_kernel_widest();
        __atomic_store_n(&chosen, known, __ATOMIC_RELAXED);
    }
    return known;
}

void sg_adam_version(int requested, float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
                     float step_size, float inv_bc2_sqrt, float epsilon, float weight_decay) {
    switch (version(requested)) {
#if defined(__x86_64__)
    case SG_KERNELS_AVX512: adam_avx512 ADAM_ARGS; return;
    case SG_KERNELS_AVX2: adam_avx2 ADAM_ARGS; return;
#endif
    default: adam_baseline ADAM_ARGS; return;
    }
}

void sg_adam(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
             float step_size, float inv_bc2_sqrt, float epsilon, float weight_decay) {
    sg_adam_version(-1, p, g, m, v, n, beta1, beta2, step_size, inv_bc2_sqrt, epsilon, weight_decay);
}

void sg_axpby_version(int requested, float *y, const float *x, size_t n, float a, float b) {
    switch (version(requested)) {
#if defined(__x86_64__)
    case SG_KERNELS_AVX512: axpby_avx512(y, x, n, a, b); return;
    case SG_KERNELS_AVX2: axpby_avx2(y, x, n, a, b); return;
#endif
    default: axpby_baseline(y, x, n, a, b); return;
    }
}

void sg_axpby(float *y, const float *x, size_t n, float a, float b) { sg_axpby_version(-1, y, x, n, a, b); }
