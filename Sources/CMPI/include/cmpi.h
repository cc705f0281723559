// A thin layer over MPI: nothing above it sees MPI's types or macros. Every function returns
// MPI's error code (0 on success) and, on failure, the library's message in `error`.
#ifndef SWIFTGAN_CMPI_H
#define SWIFTGAN_CMPI_H
#include <stddef.h>

/// MPI_Init_thread (funneled: only the calling thread uses MPI), with errors returned rather than fatal.
int sg_mpi_init(int *rank, int *size, char *error, size_t error_size);
int sg_mpi_finalize(void);
/// Sums `count` floats (or doubles) across ranks, in place.
int sg_mpi_allreduce_sum_float(float *values, size_t count, char *error, size_t error_size);
int sg_mpi_allreduce_sum_double(double *values, size_t count, char *error, size_t error_size);
/// Copies `count` bytes from rank `root` to every rank.
int sg_mpi_broadcast(void *bytes, size_t count, int root, char *error, size_t error_size);
/// Gathers `size` bytes from every rank into `out` (rank r's at r·size), on every rank.
int sg_mpi_allgather(const void *bytes, size_t size, void *out, char *error, size_t error_size);
int sg_mpi_barrier(void);
/// Ends every rank of the job with `code`.
void sg_mpi_abort(int code);
/// This host's name as MPI knows it.
void sg_mpi_processor_name(char *name, size_t size);
#endif
