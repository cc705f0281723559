#include <mpi.h>
#include <stdint.h>
#include <string.h>
#include "cmpi.h"

static int message(int code, char *error, size_t error_size) {
    if (code != MPI_SUCCESS && error && error_size > 0) {
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
        text[length < MPI_MAX_ERROR_STRING ? length : MPI_MAX_ERROR_STRING - 1] = 0;
        strncpy(error, text, error_size - 1);
        error[error_size - 1] = 0;
    }
    return code;
}

int sg_mpi_init(int *rank, int *size, char *error, size_t error_size) {
    int provided = 0;
    int code = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (code != MPI_SUCCESS) return message(code, error, error_size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    return message(MPI_Comm_size(MPI_COMM_WORLD, size), error, error_size);
}

int sg_mpi_finalize(void) { return MPI_Finalize(); }

// Counts beyond INT_MAX go in pieces (MPI counts are ints).
#define CHUNK ((size_t)1 << 30)

static int allreduce_sum(char *values, size_t count, MPI_Datatype type, size_t element, char *error, size_t error_size) {
    for (size_t done = 0; done < count; done += CHUNK) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        int code = MPI_Allreduce(MPI_IN_PLACE, values + done * element, (int)n, type, MPI_SUM, MPI_COMM_WORLD);
        if (code != MPI_SUCCESS) return message(code, error, error_size);
    }
    return 0;
}

int sg_mpi_allreduce_sum_float(float *values, size_t count, char *error, size_t error_size) {
    return allreduce_sum((char *)values, count, MPI_FLOAT, sizeof(float), error, error_size);
}

int sg_mpi_allreduce_sum_double(double *values, size_t count, char *error, size_t error_size) {
    return allreduce_sum((char *)values, count, MPI_DOUBLE, sizeof(double), error, error_size);
}

int sg_mpi_broadcast(void *bytes, size_t count, int root, char *error, size_t error_size) {
    for (size_t done = 0; done < count; done += CHUNK) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        int code = MPI_Bcast((char *)bytes + done, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
        if (code != MPI_SUCCESS) return message(code, error, error_size);
    }
    return 0;
}

int sg_mpi_allgather(const void *bytes, size_t size, void *out, char *error, size_t error_size) {
    return message(MPI_Allgather(bytes, (int)size, MPI_BYTE, out, (int)size, MPI_BYTE, MPI_COMM_WORLD), error, error_size);
}

int sg_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

void sg_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void sg_mpi_processor_name(char *name, size_t size) {
    char buffer[MPI_MAX_PROCESSOR_NAME];
    int length = 0;
    MPI_Get_processor_name(buffer, &length);
    buffer[length < MPI_MAX_PROCESSOR_NAME ? length : MPI_MAX_PROCESSOR_NAME - 1] = 0;
    strncpy(name, buffer, size - 1);
    name[size - 1] = 0;
}
