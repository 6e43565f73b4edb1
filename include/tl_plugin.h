/* TrainingLab plugin handshake: what every method plugin (lib<Name>.so) exports, checked by the host
   before it touches any Swift type of the plugin.

   int32_t tl_plugin_handshake(char *fingerprint, int32_t capacity);
       Writes the plugin's build fingerprint (TrainingLab version and Swift compiler it was built with,
       NUL-terminated, truncated to capacity) and returns TL_PLUGIN_ABI_VERSION as the plugin saw it when
       compiled. The host refuses a plugin whose ABI version or fingerprint differs from its own, naming
       the file, the symbol and both values.
   void *tl_plugin_entry(void);
       A retained reference to the plugin's registration object (the methods and models it provides),
       called only after the handshake passed.
   int32_t tl_plugin_test_fixture(void);   (optional)
       Present only in test fixtures: the host loads such a plugin only when its file is named
       explicitly (--plugin-path FILE, TRAININGLAB_PLUGIN_PATH), never from a folder scan, so fixtures
       built beside the real plugins do not show up in `tlab methods`.

   Swift has no stable ABI between compiler versions on Linux: bump TL_PLUGIN_ABI_VERSION whenever a
   type that crosses the boundary (TrainingMethod, descriptors, registrations, trainer events, the
   training loop's state) changes. Version 3: models, the one training loop, MethodContext/LoopState.
   Version 4: federated run options in RunConfig, the federated round driver.
   Version 5: data-parallel replicas in the training loop (Trainer, MethodContext, DataLoader shards), the
   MPI backend (FederatedProcessBackend, the client runner's loop callbacks, fail_clients ':exit'). */
#ifndef TL_PLUGIN_H
#define TL_PLUGIN_H

#define TL_PLUGIN_ABI_VERSION 6
#define TL_PLUGIN_HANDSHAKE_SYMBOL "tl_plugin_handshake"
#define TL_PLUGIN_ENTRY_SYMBOL "tl_plugin_entry"
#define TL_PLUGIN_TEST_FIXTURE_SYMBOL "tl_plugin_test_fixture"
/* TrainingLab's version, defined once here: the plugin fingerprint, `tlab --version`, tl_version(), model
   files and the installed library's SONAME (MAJOR.MINOR) all read it. */
#define TL_VERSION "0.12.0"

#endif
