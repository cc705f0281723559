#include "cdnnl.h"

int cdnnl_runtime_version(void) {
    const dnnl_version_t *v = dnnl_version();
    return v->major * 10000 + v->minor * 100 + v->patch;
}

void *cdnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

// libgomp's entry points (GCC's OpenMP runtime, which oneDNN is linked against). Declared here
// rather than through <omp.h>: this target is compiled by clang, whose own OpenMP support would
// bring a second runtime (libomp) and a second team of threads.
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
extern int omp_get_max_threads(void);

struct range_job { cdnnl_range_fn fn; void *context; long n, grain; };

static void range_part(void *data) {
    const struct range_job *job = data;
    long threads = omp_get_num_threads(), t = omp_get_thread_num();
    long grains = (job->n + job->grain - 1) / job->grain;
    long per = (grains + threads - 1) / threads;
    long begin = t * per * job->grain, end = begin + per * job->grain;
    if (end > job->n) end = job->n;
    if (begin < end) job->fn(job->context, begin, end);
}

void cdnnl_parallel_for(long n, long grain, cdnnl_range_fn fn, void *context) {
    if (grain < 1) grain = 1;
    if (n <= 0) return;
    if (n < 2 * grain || omp_get_max_threads() < 2) { fn(context, 0, n); return; }
    struct range_job job = { fn, context, n, grain };
    GOMP_parallel(range_part, &job, 0, 0);
}

extern void omp_set_num_threads(int n);
void cdnnl_set_threads(int n) { omp_set_num_threads(n); }
int cdnnl_threads(void) { return omp_get_max_threads(); }
