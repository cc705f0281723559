#ifndef SWIFTGAN_CDNNL_H
#define SWIFTGAN_CDNNL_H
// The one C header through which SwiftGAN sees oneDNN. Only the CPU backend imports it.
#include <oneapi/dnnl/dnnl.h>

/// The oneDNN version the process actually loaded, as major*10000 + minor*100 + patch.
int cdnnl_runtime_version(void);

/// DNNL_MEMORY_NONE does not import into Swift (it is a cast-style macro).
void *cdnnl_memory_none(void);

/// DNNL_MEMORY_ALLOCATE: let oneDNN allocate a memory object's buffer.
void *cdnnl_memory_allocate(void);

/// A function over the index range [begin, end) of some work, with its context.
typedef void (*cdnnl_range_fn)(void *context, long begin, long end);

/// Runs `fn` over [0, n) split into one contiguous part per thread of the OpenMP team that
/// oneDNN's kernels run on (libgomp's, the runtime Debian's oneDNN is built with): host loops use
/// the cores without a second thread pool competing with oneDNN's spinning workers. Parts are
/// multiples of `grain` (the last one shorter); with less than two grains of work, or one thread,
/// `fn` runs once on the caller.
void cdnnl_parallel_for(long n, long grain, cdnnl_range_fn fn, void *context);
/// The OpenMP team size of the engine's kernels (omp_set_num_threads / omp_get_max_threads).
void cdnnl_set_threads(int n);
int cdnnl_threads(void);

#endif
