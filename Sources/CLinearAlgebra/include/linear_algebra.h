#ifndef SWIFTGAN_LINEAR_ALGEBRA_H
#define SWIFTGAN_LINEAR_ALGEBRA_H
// LAPACK (Debian's liblapacke) for the few dense Float64 problems of evaluation metrics.

/// Eigenvalues (ascending, into `values`) and, in place of the row-major symmetric n×n matrix `a`,
/// its orthonormal eigenvectors as columns. Returns LAPACK's info (0 on success).
int sg_symmetric_eigen(int n, double *a, double *values);

#endif
