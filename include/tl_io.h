/* TrainingLab core: whole-file reads for the dataset readers (gzip-compressed or plain, told apart by content). */
#ifndef TL_IO_H
#define TL_IO_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* *data[*size] = the bytes of the file at `path`, decompressed with zlib when it starts with the gzip magic
   (1f 8b; concatenated members are joined), read as is otherwise. Release *data with tl_io_free.
   Missing or unreadable file -> TL_ERR_IO, corrupt or truncated gzip data -> TL_ERR_FORMAT; messages name the
   path. On failure *data is NULL and *size is 0. */
int tl_io_read_file(const char *path, uint8_t **data, tl_size *size);

/* Release a buffer returned by tl_io_read_file (NULL allowed). */
void tl_io_free(void *data);

#ifdef __cplusplus
}
#endif
#endif
