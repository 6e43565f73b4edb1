/* Nothing to compile: the target only carries tl_fuzz_driver.h, and SwiftPM wants one source file. */
#include "tl_fuzz_driver.h"
