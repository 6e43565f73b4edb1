/* TrainingLab exported C API: list, describe and run training-method plugins from any C99 program,
   and call the compute kernels (tl_core.h) directly. Link with -lTrainingLab.

   Conventions: every function returns an int status (TL_OK = 0; tl_status_string names it) and, on
   failure, leaves a message in the calling thread's tl_last_error(). Results come back through
   out-parameters. Strings returned by the library are owned by the caller and released with
   tl_string_free; handles are released with their _free function. Nothing here aborts the process
   on bad input. Plugins are discovered on first use (see tl_set_plugin_path). */
#ifndef TRAININGLAB_H
#define TRAININGLAB_H

#include "tl_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque prepared run: one method, one configuration, and after tl_run_execute its report. */
typedef struct tl_run tl_run;

/* Called with each progress event as a one-line JSON object ({"event": "epoch", "epoch": 3, ...}).
   Return 0 to go on; nonzero asks the run to stop at its next step, as Ctrl-C stops `tlab run`: the
   epoch in progress is discarded, tl_run_execute returns TL_OK with a report saying "complete": false,
   "epochs_completed" and "stopped_by": "interrupt", and a new run of the same configuration and "out"
   with "resume": true continues from the last epoch's checkpoint. */
typedef int (*tl_progress_fn)(const char *event_json, void *user_data);

/* The TrainingLab version (what `tlab --version` prints); a static string, not to be freed. */
const char *tl_version(void);

/* Folders (colon separated) searched for plugins before TRAININGLAB_PLUGIN_PATH and the default
   folders; takes effect at the next discovery (call before the first other call, or it rediscovers). */
int tl_set_plugin_path(const char *colon_separated_folders);

/* *json_out = JSON array of the registered methods' descriptions (name, title, paper, options ...). */
int tl_methods_list(char **json_out);

/* *json_out = JSON description of one method; TL_ERR_NOT_FOUND (listing the known names) if unknown. */
int tl_method_describe(const char *name, char **json_out);

/* *run_out = a run of method `name` configured by config_json: an object whose keys are run options
   ("model", "dataset", "epochs", "batch_size", "lr", "seed", ... see `tlab run --help`), plus
   "options" (an object of the method's own options), "out" (a folder for config.json,
   metrics.jsonl, report.json and model.safetensors; omitted: nothing written), "resume": true (continue
   the stopped run in "out", as --resume) and "overwrite": true (replace the run in a non-empty "out", as
   --overwrite). NULL config = defaults. Unknown methods, keys or invalid values fail here, before
   anything runs; a non-empty "out" without resume or overwrite fails in tl_run_execute. */
int tl_run_create(const char *name, const char *config_json, tl_run **run_out);

/* Runs it to completion, calling progress (may be NULL) with events; a run executes once. */
int tl_run_execute(tl_run *run, tl_progress_fn progress, void *user_data);

/* *json_out = the report of an executed run (report.json's content). */
int tl_run_report(const tl_run *run, char **json_out);

void tl_run_free(tl_run *run);

/* An opaque model loaded from a model.safetensors file that a run wrote. */
typedef struct tl_model tl_model;

/* *model_out = the model of a model file, rebuilt from its metadata (model SPEC, input shape, classes,
   normalisation); the model's name must be the core's or a discovered plugin's. */
int tl_model_load(const char *path, tl_model **model_out);

/* *json_out = the model's metadata: {"model": SPEC, "input_shape": [C, H, W], "classes": K,
   "class_names": [...], "mean": [...], "std": [...], "traininglab_version": "..."}. */
int tl_model_describe(const tl_model *model, char **json_out);

/* inputs (count, C, H, W) row-major as the data pipeline holds them (uint8 pixels / 255; the model's
   normalisation is applied inside); out (count, classes): logits, or softmax probabilities when
   probabilities != 0. */
int tl_model_predict(tl_model *model, const float *inputs, int64_t count, int probabilities, float *out);

void tl_model_free(tl_model *model);

/* Releases a string returned by this API. */
void tl_string_free(char *s);

#ifdef __cplusplus
}
#endif
#endif
