/* TrainingLab core: act kernels (to be filled in). */
#ifndef TL_ACT_H
#define TL_ACT_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
