// MPICH (Debian's libmpich-dev): only the CMPI C layer includes it.
#include <mpi.h>
