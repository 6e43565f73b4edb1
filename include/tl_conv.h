/* TrainingLab core: conv kernels (to be filled in). */
#ifndef TL_CONV_H
#define TL_CONV_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
