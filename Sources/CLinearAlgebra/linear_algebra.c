#include "linear_algebra.h"
#include <lapacke.h>

int sg_symmetric_eigen(int n, double *a, double *values) {
    return LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', n, a, n, values);
}
