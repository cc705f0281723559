#include "cdnnl.h"

int cdnnl_runtime_version(void) {
    const dnnl_version_t *v = dnnl_version();
    return v->major * 10000 + v->minor * 100 + v->patch;
}

void *cdnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
