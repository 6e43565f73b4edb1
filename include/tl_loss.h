/* TrainingLab core: loss kernels (to be filled in). */
#ifndef TL_LOSS_H
#define TL_LOSS_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
