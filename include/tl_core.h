/* Umbrella header of the C compute core: every kernel family. */
#ifndef TL_CORE_H
#define TL_CORE_H
#include "tl_base.h"
#include "tl_rng.h"
#include "tl_gemm.h"
#include "tl_conv.h"
#include "tl_pool.h"
#include "tl_norm.h"
#include "tl_act.h"
#include "tl_loss.h"
#include "tl_optim.h"
#include "tl_quant.h"
#include "tl_sparse.h"
#include "tl_lif.h"
#include "tl_augment.h"
#include "tl_io.h"
#include "tl_ops.h"
#include "tl_explog.h"
#include "tl_linalg.h"
#include "tl_bench.h"
#include "tl_plugin.h"
#endif
