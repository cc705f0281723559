// MPI through dlopen, against MPICH's ABI.
//
// Why by hand rather than #include <mpi.h>: linking MPI (or using its pkg-config flags, which
// link it) makes every swiftgan process map MPICH, UCX and hwloc at start — UCX's libucm then
// hooks every mmap of the process — although only `mpiexec … swiftgan train` uses them. Loaded at
// run time, `swiftgan` also builds and runs where MPICH is not installed. MPICH's ABI (MPICH ≥ 3.1,
// Intel MPI, MVAPICH2: the "MPICH ABI compatibility initiative") fixes the handle types (int) and
// the constants below; the test suite compares them with the installed mpi.h.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "cmpi.h"

typedef int MPI_Comm, MPI_Datatype, MPI_Op, MPI_Errhandler;
#define MPI_COMM_WORLD ((MPI_Comm)0x44000000)
#define MPI_BYTE ((MPI_Datatype)0x4c00010d)
#define MPI_FLOAT ((MPI_Datatype)0x4c00040a)
#define MPI_DOUBLE ((MPI_Datatype)0x4c00080b)
#define MPI_SUM ((MPI_Op)0x58000003)
#define MPI_ERRORS_RETURN ((MPI_Errhandler)0x54000001)
#define MPI_IN_PLACE ((void *)-1)
#define MPI_THREAD_FUNNELED 1
#define MPI_SUCCESS 0
#define MPI_MAX_ERROR_STRING 512
#define MPI_MAX_PROCESSOR_NAME 128

static struct {
    void *library;
    int (*Init_thread)(int *, char ***, int, int *);
    int (*Finalize)(void);
    int (*Comm_set_errhandler)(MPI_Comm, MPI_Errhandler);
    int (*Comm_rank)(MPI_Comm, int *);
    int (*Comm_size)(MPI_Comm, int *);
    int (*Error_string)(int, char *, int *);
    int (*Allreduce)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
    int (*Bcast)(void *, int, MPI_Datatype, int, MPI_Comm);
    int (*Allgather)(const void *, int, MPI_Datatype, void *, int, MPI_Datatype, MPI_Comm);
    int (*Barrier)(MPI_Comm);
    int (*Abort)(MPI_Comm, int);
    int (*Get_processor_name)(char *, int *);
} mpi;

static void say(char *error, size_t error_size, const char *text) {
    if (error && error_size > 0) {
        strncpy(error, text, error_size - 1);
        error[error_size - 1] = 0;
    }
}

int sg_mpi_load(const char *path, char *error, size_t error_size) {
    if (mpi.library) return 0;
    const char *names[] = {"libmpich.so.12", "libmpi.so.12"};
    void *library = NULL;
    if (path && *path) {
        library = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    } else {
        for (size_t i = 0; i < sizeof names / sizeof *names && !library; i++) library = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (!library) {
        const char *reason = dlerror();
        say(error, error_size, reason ? reason : "cannot load the MPI library");
        return -1;
    }
#define RESOLVE(name)                                                                    \
    if (!(*(void **)&mpi.name = dlsym(library, "MPI_" #name))) {                         \
        say(error, error_size, "the MPI library has no MPI_" #name " (not MPICH's ABI)"); \
        dlclose(library);                                                                \
        memset(&mpi, 0, sizeof mpi);                                                     \
        return -1;                                                                       \
    }
    RESOLVE(Init_thread) RESOLVE(Finalize) RESOLVE(Comm_set_errhandler) RESOLVE(Comm_rank) RESOLVE(Comm_size)
    RESOLVE(Error_string) RESOLVE(Allreduce) RESOLVE(Bcast) RESOLVE(Allgather) RESOLVE(Barrier) RESOLVE(Abort)
    RESOLVE(Get_processor_name)
#undef RESOLVE
    mpi.library = library;
    return 0;
}

static int message(int code, char *error, size_t error_size) {
    if (code != MPI_SUCCESS && error && error_size > 0) {
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        if (mpi.Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
        text[length < MPI_MAX_ERROR_STRING ? length : MPI_MAX_ERROR_STRING - 1] = 0;
        say(error, error_size, text);
    }
    return code;
}

#define REQUIRE_LOADED(error, error_size)                                            \
    if (!mpi.library) {                                                              \
        say(error, error_size, "MPI is not loaded (sg_mpi_load was not called)");    \
        return -1;                                                                   \
    }

int sg_mpi_init(int *rank, int *size, char *error, size_t error_size) {
    REQUIRE_LOADED(error, error_size)
    int provided = 0;
    int code = mpi.Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (code != MPI_SUCCESS) return message(code, error, error_size);
    mpi.Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    mpi.Comm_rank(MPI_COMM_WORLD, rank);
    return message(mpi.Comm_size(MPI_COMM_WORLD, size), error, error_size);
}

int sg_mpi_finalize(void) { return mpi.library ? mpi.Finalize() : 0; }

// Counts beyond INT_MAX go in pieces (MPI counts are ints).
#define CHUNK ((size_t)1 << 30)

static int allreduce_sum(char *values, size_t count, MPI_Datatype type, size_t element, char *error, size_t error_size) {
    REQUIRE_LOADED(error, error_size)
    for (size_t done = 0; done < count; done += CHUNK) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        int code = mpi.Allreduce(MPI_IN_PLACE, values + done * element, (int)n, type, MPI_SUM, MPI_COMM_WORLD);
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
    REQUIRE_LOADED(error, error_size)
    for (size_t done = 0; done < count; done += CHUNK) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        int code = mpi.Bcast((char *)bytes + done, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
        if (code != MPI_SUCCESS) return message(code, error, error_size);
    }
    return 0;
}

int sg_mpi_allgather(const void *bytes, size_t size, void *out, char *error, size_t error_size) {
    REQUIRE_LOADED(error, error_size)
    return message(mpi.Allgather(bytes, (int)size, MPI_BYTE, out, (int)size, MPI_BYTE, MPI_COMM_WORLD), error, error_size);
}

int sg_mpi_barrier(void) { return mpi.library ? mpi.Barrier(MPI_COMM_WORLD) : -1; }

void sg_mpi_abort(int code) {
    if (mpi.library) mpi.Abort(MPI_COMM_WORLD, code);
}

void sg_mpi_processor_name(char *name, size_t size) {
    char buffer[MPI_MAX_PROCESSOR_NAME] = {0};
    int length = 0;
    if (mpi.library) mpi.Get_processor_name(buffer, &length);
    buffer[length < MPI_MAX_PROCESSOR_NAME ? length : MPI_MAX_PROCESSOR_NAME - 1] = 0;
    say(name, size, buffer);
}

sg_mpi_abi sg_mpi_abi_constants(void) {
    sg_mpi_abi abi = {MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_BYTE, MPI_SUM, MPI_ERRORS_RETURN, MPI_THREAD_FUNNELED,
                      MPI_MAX_ERROR_STRING, MPI_MAX_PROCESSOR_NAME};
    return abi;
}
