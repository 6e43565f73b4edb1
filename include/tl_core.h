/* Umbrella header of the C compute core: every kernel family. */
#ifndef TL_CORE_H
#define TL_CORE_H
#include "tl_base.h"
#include "tl_rng.h"
#endif
