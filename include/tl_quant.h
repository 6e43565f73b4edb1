/* TrainingLab core: quant kernels (to be filled in). */
#ifndef TL_QUANT_H
#define TL_QUANT_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
