#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Twelve independent accumulators: enough to cover a multiply-add's latency (4 cycles) on two
// pipes, so the loop runs at the pipes' throughput. The results go to a volatile sink so that
// nothing is optimized away.
#define SG_CHAINS 12
static volatile float sink;

#define SG_FMA_LOOP(W)                                                                             \
    typedef float lanes __attribute__((ext_vector_type(W)));                                       \
    lanes acc[SG_CHAINS];                                                                          \
    for (int c = 0; c < SG_CHAINS; c++) acc[c] = (lanes)(0.001f * (float)c);                       \
    const lanes a = (lanes)0.999999f, b = (lanes)1e-7f;                                            \
    for (long i = 0; i < iterations; i++)                                                          \
        for (int c = 0; c < SG_CHAINS; c++) acc[c] = __builtin_elementwise_fma(acc[c], a, b);     \
    float total = 0;                                                                               \
    for (int c = 0; c < SG_CHAINS; c++) total += acc[c][0];                                        \
    sink = total;                                                                                  \
    return 2.0 * (W) * SG_CHAINS * (double)iterations;

static double peak_fp32_baseline(long iterations) { SG_FMA_LOOP(4) }
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static double peak_fp32_avx2(long iterations) { SG_FMA_LOOP(8) }
__attribute__((target("avx512f"))) static double peak_fp32_avx512(long iterations) { SG_FMA_LOOP(16) }

__attribute__((target("avx512f,avx512bf16")))
static double peak_bf16_avx512(long iterations) {
    __m512 acc[SG_CHAINS];
    for (int c = 0; c < SG_CHAINS; c++) acc[c] = _mm512_set1_ps(0.001f * (float)c);
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
    for (long i = 0; i < iterations; i++)
        for (int c = 0; c < SG_CHAINS; c++) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
    float total = 0;
    for (int c = 0; c < SG_CHAINS; c++) total += _mm512_reduce_add_ps(acc[c]);
    sink = total;
    // 16 lanes, each the sum of two products added to the accumulator: 4 operations per lane.
    return 4.0 * 16 * SG_CHAINS * (double)iterations;
}
#endif

double sg_peak_fp32(long iterations) {
#if defined(__x86_64__)
    switch (sg_kernel_widest()) {
    case SG_KERNELS_AVX512: return peak_fp32_avx512(iterations);
    case SG_KERNELS_AVX2: return peak_fp32_avx2(iterations);
    }
#endif
    return peak_fp32_baseline(iterations);
}

double sg_peak_bf16(long iterations) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16")) return peak_bf16_avx512(iterations);
#endif
    (void)iterations;
    return 0;
}
