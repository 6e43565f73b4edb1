/* TrainingLab core: optim kernels (to be filled in). */
#ifndef TL_OPTIM_H
#define TL_OPTIM_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
