#include "linear_algebra.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// LAPACKE's C interface, declared here because its header would not be needed for anything else
// (lapack_int is int in Debian's LP64 build; LAPACK_ROW_MAJOR is 101).
typedef int (*dsyevd_function)(int layout, char jobz, char uplo, int n, double *a, int lda, double *w);
static dsyevd_function dsyevd;

int sg_linear_algebra_load(char *error, size_t error_size) {
    if (dsyevd) return 0;
    // Read by OpenBLAS when it loads; a user's own setting is kept.
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    setenv("GOTO_NUM_THREADS", "1", 0);
    void *library = dlopen("liblapacke.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        if (error && error_size) { strncpy(error, reason ? reason : "cannot load liblapacke.so.3", error_size - 1); error[error_size - 1] = 0; }
        return -1;
    }
    dsyevd_function f = (dsyevd_function)dlsym(library, "LAPACKE_dsyevd");
    if (!f) {
        if (error && error_size) { strncpy(error, "liblapacke.so.3 has no LAPACKE_dsyevd", error_size - 1); error[error_size - 1] = 0; }
        dlclose(library);
        return -1;
    }
    dsyevd = f;
    return 0;
}

int sg_symmetric_eigen(int n, double *a, double *values) {
    if (!dsyevd) return -1000;
    return dsyevd(101, 'V', 'U', n, a, n, values);
}
