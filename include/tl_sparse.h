/* TrainingLab core: sparse kernels (to be filled in). */
#ifndef TL_SPARSE_H
#define TL_SPARSE_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
