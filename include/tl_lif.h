/* TrainingLab core: lif kernels (to be filled in). */
#ifndef TL_LIF_H
#define TL_LIF_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
