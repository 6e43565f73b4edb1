/* TrainingLab core: pool kernels (to be filled in). */
#ifndef TL_POOL_H
#define TL_POOL_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
