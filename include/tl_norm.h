/* TrainingLab core: norm kernels (to be filled in). */
#ifndef TL_NORM_H
#define TL_NORM_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
