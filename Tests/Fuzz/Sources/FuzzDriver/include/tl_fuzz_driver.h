/* libFuzzer's driver (compiler-rt, LLVM 11 and later), entered from tlab-fuzz's own main: SwiftPM gives an
   executable a `main` of its own on Linux, so libFuzzer's is never linked in. */
#ifndef TL_FUZZ_DRIVER_H
#define TL_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* Parses libFuzzer's flags in argv and fuzzes `one_input` (bytes, size), returning the exit status. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*one_input)(const uint8_t *data, size_t size));

#endif
