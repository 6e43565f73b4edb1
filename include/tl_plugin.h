/* TrainingLab plugin handshake: what every method plugin (lib<Name>.so) exports, checked by the host
   before it touches any Swift type of the plugin.

   const char *tl_plugin_handshake(void);
       A static string "traininglab-plugin abi=<N> fingerprint=<F>": N is TL_PLUGIN_ABI_VERSION as the
       plugin saw it when compiled, F identifies the TrainingLab version and Swift compiler it was built
       with. The host refuses a plugin whose N or F differs from its own.
   void *tl_plugin_entry(void);
       A retained reference to the plugin's registration object (the methods it provides), returned
       only after the handshake passed.

   Swift has no stable ABI between compiler versions on Linux: bump TL_PLUGIN_ABI_VERSION whenever a
   type that crosses the boundary (TrainingMethod, descriptors, trainer events) changes. */
#ifndef TL_PLUGIN_H
#define TL_PLUGIN_H

#define TL_PLUGIN_ABI_VERSION 2
#define TL_PLUGIN_HANDSHAKE_SYMBOL "tl_plugin_handshake"
#define TL_PLUGIN_ENTRY_SYMBOL "tl_plugin_entry"
#define TL_VERSION "0.1.0"

#endif
