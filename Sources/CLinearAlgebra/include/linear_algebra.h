#ifndef SWIFTGAN_LINEAR_ALGEBRA_H
#define SWIFTGAN_LINEAR_ALGEBRA_H
// LAPACK (Debian's liblapacke) for the few dense Float64 problems of evaluation metrics, loaded at
// run time: only a command that computes a Fréchet distance maps LAPACK and its BLAS.
#include <stddef.h>

/// Loads LAPACKE (dlopen of liblapacke.so.3) with its BLAS limited to one thread (OpenBLAS starts
/// a thread pool at load otherwise; at these sizes one thread is enough, and a pool that outlives
/// the work can keep a process from exiting under a memory limit). Returns 0, or -1 with the reason
/// in `error`. Idempotent.
int sg_linear_algebra_load(char *error, size_t error_size);

/// Eigenvalues (ascending, into `values`) and, in place of the row-major symmetric n×n matrix `a`,
/// its orthonormal eigenvectors as columns. Returns LAPACK's info (0 on success; -1000 when
/// LAPACK is not loaded).
int sg_symmetric_eigen(int n, double *a, double *values);

#endif
