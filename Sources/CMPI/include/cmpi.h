// A thin layer over MPI, loaded at run time: nothing above it sees MPI's types or macros, and a
// process that never calls sg_mpi_load maps no MPI library (nor UCX, hwloc, … which it pulls in).
// Every function returns MPI's error code (0 on success) and, on failure, the library's message
// in `error`.
#ifndef SWIFTGAN_CMPI_H
#define SWIFTGAN_CMPI_H
#include <stddef.h>

/// Loads the MPI library (dlopen): `path` when given, else MPICH's ABI names (libmpich.so.12,
/// libmpi.so.12). Returns 0, or -1 with the reason in `error` (the library is absent, or lacks
/// a function). Idempotent.
int sg_mpi_load(const char *path, char *error, size_t error_size);
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

/// The constants of MPICH's ABI this layer declares (the tests compare them with mpi.h).
typedef struct {
    int comm_world, type_float, type_double, type_byte, op_sum, errors_return, thread_funneled;
    int max_error_string, max_processor_name;
} sg_mpi_abi;
sg_mpi_abi sg_mpi_abi_constants(void);
#endif
