/* Thread-local grow-only scratch buffers (see tl_internal.h), freed when their thread exits. */
#define _POSIX_C_SOURCE 200809L
#include "tl_internal.h"

#include <pthread.h>

static __thread float *scratch_ptr[TL_SCRATCH_SLOTS];
static __thread size_t scratch_cap[TL_SCRATCH_SLOTS];
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/* Runs at thread exit (OpenMP workers included) and frees that thread's buffers. */
static void scratch_release(void *unused) {
    (void)unused;
    for (int i = 0; i < TL_SCRATCH_SLOTS; i++) {
        tl_free(scratch_ptr[i]);
        scratch_ptr[i] = NULL;
        scratch_cap[i] = 0;
    }
}

void tl_scratch_release(void) { scratch_release(NULL); }

static void scratch_make_key(void) { pthread_key_create(&scratch_key, scratch_release); }

float *tl_scratch(int slot, size_t count) {
    if (count <= scratch_cap[slot] && scratch_ptr[slot]) return scratch_ptr[slot];
    pthread_once(&scratch_once, scratch_make_key);
    /* Any non-NULL value makes the destructor run at thread exit. */
    if (pthread_getspecific(scratch_key) == NULL) pthread_setspecific(scratch_key, (void *)1);
    tl_free(scratch_ptr[slot]);
    /* A little headroom so that slowly growing shapes do not reallocate on every call. */
    size_t cap = count + count / 8 + 1024;
    scratch_ptr[slot] = (float *)tl_alloc(cap * sizeof(float));
    scratch_cap[slot] = scratch_ptr[slot] ? cap : 0;
    return scratch_ptr[slot];
}
