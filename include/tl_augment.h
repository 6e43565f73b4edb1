/* TrainingLab core: augment kernels (to be filled in). */
#ifndef TL_AUGMENT_H
#define TL_AUGMENT_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
