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

#endif
