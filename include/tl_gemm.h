/* TrainingLab core: gemm kernels (to be filled in). */
#ifndef TL_GEMM_H
#define TL_GEMM_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
