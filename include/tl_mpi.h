/* TrainingLab MPI transport: the few message-passing calls the MPI backend needs, in a library of its own
   (libTrainingLabMPI.so, Sources/TrainingLabMPI) so that libTrainingLab.so never links MPI. The core opens it
   with dlopen only when a run asks for backend=mpi, looks up TL_MPI_TRANSPORT_SYMBOL and refuses a table whose
   version or size differs from its own.

   Every wait is bounded: send and receive poll nonblocking MPI calls until they complete or `timeout` seconds
   pass (yielding, then sleeping up to 1 ms between polls, so a waiting rank leaves the cores to the ranks
   that compute). OpenMPI 4.1 reports nothing about a peer that died (a receive from it stays pending), so a
   lost rank is noticed only as silence; MPI_COMM_WORLD uses MPI_ERRORS_RETURN, so MPI errors come back as
   TL_MPI_ERROR with a message instead of ending the process. A send or receive that timed out keeps its
   buffer until MPI completes it (never, if the peer is gone); callers' buffers are copied first. */
#ifndef TL_MPI_H
#define TL_MPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_MPI_TRANSPORT_VERSION 1
#define TL_MPI_TRANSPORT_SYMBOL "tl_mpi_transport_table"
#define TL_MPI_LIBRARY_NAME "libTrainingLabMPI.so"

/* Results of the calls below. */
#define TL_MPI_OK 0
#define TL_MPI_TIMEOUT 1
#define TL_MPI_ERROR 2

/* Matches any source rank or any tag in receive. */
#define TL_MPI_ANY (-1)

typedef struct tl_mpi_transport {
    int32_t version; /* TL_MPI_TRANSPORT_VERSION of the library */
    int32_t size;    /* sizeof(tl_mpi_transport) of the library */
    /* MPI_Init_thread (serialized: one thread at a time calls MPI) once per process, MPI_ERRORS_RETURN on
       MPI_COMM_WORLD; later calls return TL_MPI_OK at once. MPI_Finalize runs at normal process exit. */
    int32_t (*join)(void);
    /* This process's rank in MPI_COMM_WORLD and the number of ranks (after init). */
    int32_t (*rank)(void);
    int32_t (*ranks)(void);
    /* Sends bytes[count] (count <= INT32_MAX) to `destination` with `tag` (>= 0), from a copy. */
    int32_t (*send)(const void *bytes, int64_t count, int32_t destination, int32_t tag, double timeout);
    /* Receives the next message from `source` with `tag` (either TL_MPI_ANY). On TL_MPI_OK, *bytes is a
       malloc'd buffer of *count bytes (release it with `release`; NULL when count is 0), and *from, *got_tag
       say where it came from. */
    int32_t (*receive)(int32_t source, int32_t tag, double timeout, int32_t *from, int32_t *got_tag, void **bytes,
                       int64_t *count);
    void (*release)(void *bytes);
    /* MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job. */
    void (*abort)(int32_t code);
    /* The message of the last TL_MPI_ERROR or TL_MPI_TIMEOUT on this thread ("" when none). */
    const char *(*last_error)(void);
} tl_mpi_transport;

/* The library's table (exported as TL_MPI_TRANSPORT_SYMBOL; the core finds it with dlsym, never links it). */
const tl_mpi_transport *tl_mpi_transport_table(void);

#ifdef __cplusplus
}
#endif

#endif
