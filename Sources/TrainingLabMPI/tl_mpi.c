/* The MPI transport of include/tl_mpi.h over OpenMPI: bounded sends and receives of byte messages on
   MPI_COMM_WORLD. The only file that includes mpi.h; built into libTrainingLabMPI.so, never into the core. */
#define _POSIX_C_SOURCE 200809L
#include "tl_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int tl_mpi_rank_value = -1;
static int tl_mpi_ranks_value = 0;
static __thread char tl_mpi_error[512];

/* Records a message for last_error and returns `status`. */
static int tl_mpi_fail(int status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(tl_mpi_error, sizeof tl_mpi_error, format, args);
    va_end(args);
    return status;
}

/* Records "what: MPI's message for code" and returns TL_MPI_ERROR. */
static int tl_mpi_fail_code(const char *what, int code) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", code);
    return tl_mpi_fail(TL_MPI_ERROR, "%s: %s", what, text);
}

static double tl_mpi_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Between two polls: yield for the first 200 polls (a message that is about to arrive is picked up at
   once), then sleep 50 us doubling up to 1 ms, so that a rank waiting for a long computation costs no CPU. */
static void tl_mpi_pause(int polls) {
    if (polls < 200) {
        sched_yield();
        return;
    }
    long ns = 50000L << (polls - 200 < 5 ? polls - 200 : 5);
    struct timespec t = {0, ns < 1000000L ? ns : 1000000L};
    nanosleep(&t, NULL);
}

/* Requests that timed out, with the buffers MPI may still read or write; freed when they complete. */
typedef struct tl_mpi_pending {
    MPI_Request request;
    void *buffer;
} tl_mpi_pending;
static tl_mpi_pending *tl_mpi_pending_list = NULL;
static int tl_mpi_pending_count = 0;

static void tl_mpi_keep_pending(MPI_Request request, void *buffer) {
    tl_mpi_pending *grown = realloc(tl_mpi_pending_list, (size_t)(tl_mpi_pending_count + 1) * sizeof *grown);
    if (grown == NULL) return; /* the buffer then leaks: MPI may still use it, so it must not be freed */
    tl_mpi_pending_list = grown;
    tl_mpi_pending_list[tl_mpi_pending_count++] = (tl_mpi_pending){request, buffer};
}

static void tl_mpi_reap_pending(void) {
    for (int i = 0; i < tl_mpi_pending_count;) {
        int done = 0;
        if (MPI_Test(&tl_mpi_pending_list[i].request, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done) {
            free(tl_mpi_pending_list[i].buffer);
            tl_mpi_pending_list[i] = tl_mpi_pending_list[--tl_mpi_pending_count];
        } else {
            i++;
        }
    }
}

/* Polls `request` until it completes (TL_MPI_OK), fails (TL_MPI_ERROR) or `timeout` seconds pass (TL_MPI_TIMEOUT). */
static int tl_mpi_wait(MPI_Request *request, double timeout, const char *what) {
    double deadline = tl_mpi_now() + timeout;
    for (int polls = 0;; polls++) {
        int done = 0;
        int code = MPI_Test(request, &done, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS) return tl_mpi_fail_code(what, code);
        if (done) return TL_MPI_OK;
        if (tl_mpi_now() >= deadline) return tl_mpi_fail(TL_MPI_TIMEOUT, "%s: not done within %.1f s", what, timeout);
        tl_mpi_pause(polls);
    }
}

static void tl_mpi_finalize_at_exit(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

static int32_t tl_mpi_join(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return TL_MPI_OK;
    int provided = 0;
    int code = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (code != MPI_SUCCESS) return tl_mpi_fail_code("MPI_Init_thread", code);
    if (provided < MPI_THREAD_SERIALIZED)
        return tl_mpi_fail(TL_MPI_ERROR, "MPI_Init_thread: the MPI library provides thread level %d, below MPI_THREAD_SERIALIZED", provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &tl_mpi_rank_value);
    MPI_Comm_size(MPI_COMM_WORLD, &tl_mpi_ranks_value);
    atexit(tl_mpi_finalize_at_exit);
    return TL_MPI_OK;
}

static int32_t tl_mpi_rank(void) { return tl_mpi_rank_value; }

static int32_t tl_mpi_ranks(void) { return tl_mpi_ranks_value; }

static int32_t tl_mpi_send(const void *bytes, int64_t count, int32_t destination, int32_t tag, double timeout) {
    if (count < 0 || count > INT_MAX || (count > 0 && bytes == NULL) || tag < 0)
        return tl_mpi_fail(TL_MPI_ERROR, "send: invalid message (%lld bytes, tag %d); at most %d bytes", (long long)count, tag, INT_MAX);
    tl_mpi_reap_pending();
    void *copy = count > 0 ? malloc((size_t)count) : NULL;
    if (count > 0 && copy == NULL) return tl_mpi_fail(TL_MPI_ERROR, "send: out of memory for %lld bytes", (long long)count);
    if (count > 0) memcpy(copy, bytes, (size_t)count);
    MPI_Request request;
    int code = MPI_Isend(copy, (int)count, MPI_BYTE, destination, tag, MPI_COMM_WORLD, &request);
    if (code != MPI_SUCCESS) {
        free(copy);
        return tl_mpi_fail_code("MPI_Isend", code);
    }
    char what[128];
    snprintf(what, sizeof what, "send of %lld bytes to rank %d (tag %d)", (long long)count, destination, tag);
    int status = tl_mpi_wait(&request, timeout, what);
    if (status == TL_MPI_TIMEOUT) tl_mpi_keep_pending(request, copy);
    else free(copy);
    return status;
}

static int32_t tl_mpi_receive(int32_t source, int32_t tag, double timeout, int32_t *from, int32_t *got_tag, void **bytes,
                              int64_t *count) {
    if (from == NULL || got_tag == NULL || bytes == NULL || count == NULL) return tl_mpi_fail(TL_MPI_ERROR, "receive: NULL output");
    *bytes = NULL;
    *count = 0;
    tl_mpi_reap_pending();
    int mpi_source = source == TL_MPI_ANY ? MPI_ANY_SOURCE : source, mpi_tag = tag == TL_MPI_ANY ? MPI_ANY_TAG : tag;
    double deadline = tl_mpi_now() + timeout;
    MPI_Message message;
    MPI_Status status;
    for (int polls = 0;; polls++) {
        int found = 0;
        int code = MPI_Improbe(mpi_source, mpi_tag, MPI_COMM_WORLD, &found, &message, &status);
        if (code != MPI_SUCCESS) return tl_mpi_fail_code("MPI_Improbe", code);
        if (found) break;
        if (tl_mpi_now() >= deadline) return tl_mpi_fail(TL_MPI_TIMEOUT, "receive: no message within %.1f s", timeout);
        tl_mpi_pause(polls);
    }
    int length = 0;
    MPI_Get_count(&status, MPI_BYTE, &length);
    void *buffer = malloc(length > 0 ? (size_t)length : 1);
    if (buffer == NULL) return tl_mpi_fail(TL_MPI_ERROR, "receive: out of memory for %d bytes", length);
    MPI_Request request;
    int code = MPI_Imrecv(buffer, length, MPI_BYTE, &message, &request);
    if (code != MPI_SUCCESS) {
        free(buffer);
        return tl_mpi_fail_code("MPI_Imrecv", code);
    }
    char what[128];
    snprintf(what, sizeof what, "receive of %d bytes from rank %d (tag %d)", length, status.MPI_SOURCE, status.MPI_TAG);
    /* The message is matched; its transfer gets a full time limit of its own. */
    int result = tl_mpi_wait(&request, timeout, what);
    if (result != TL_MPI_OK) {
        if (result == TL_MPI_TIMEOUT) tl_mpi_keep_pending(request, buffer);
        else free(buffer);
        return result;
    }
    *from = status.MPI_SOURCE;
    *got_tag = status.MPI_TAG;
    *count = length;
    if (length > 0) *bytes = buffer;
    else free(buffer);
    return TL_MPI_OK;
}

static void tl_mpi_release(void *bytes) { free(bytes); }

static void tl_mpi_abort(int32_t code) { MPI_Abort(MPI_COMM_WORLD, code); }

static const char *tl_mpi_last_error(void) { return tl_mpi_error; }

const tl_mpi_transport *tl_mpi_transport_table(void) {
    static const tl_mpi_transport table = {
        TL_MPI_TRANSPORT_VERSION, (int32_t)sizeof(tl_mpi_transport), tl_mpi_join, tl_mpi_rank, tl_mpi_ranks,
        tl_mpi_send, tl_mpi_receive, tl_mpi_release, tl_mpi_abort, tl_mpi_last_error,
    };
    return &table;
}
