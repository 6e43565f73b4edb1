/* A plain C99 client of TrainingLab: lists the methods, describes one, runs it by name with a JSON
   configuration and prints the JSON report; with OUT_DIR it then loads OUT_DIR/model.safetensors and
   predicts two samples; with STOP_AFTER it asks the run to stop after that many epochs (from the
   progress callback) and expects an incomplete report.
   Usage: run_method METHOD DATASET_SPEC [OUT_DIR [STOP_AFTER]].
   Build: cc -std=c99 run_method.c $(pkg-config --cflags --libs traininglab)
      or: cc -std=c99 -I include run_method.c -L <lib dir> -lTrainingLab -Wl,-rpath,<lib dir> */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traininglab.h"

#define EPOCHS 2

/* What the progress callback counts, and after how many epochs it asks to stop (0: never). */
typedef struct {
    int epochs_seen;
    int stop_after;
} progress_state;

static int on_progress(const char *event_json, void *user_data) {
    progress_state *state = user_data;
    if (strstr(event_json, "\"event\":\"epoch\"")) state->epochs_seen++;
    return state->stop_after > 0 && state->epochs_seen >= state->stop_after;
}

static int fail(const char *what, int status) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, tl_status_string(status), tl_last_error());
    return 1;
}

/* The integer after `key` in a compact JSON text, or -1. */
static long json_int(const char *json, const char *key) {
    const char *at = strstr(json, key);
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* Loads DIR/model.safetensors, predicts probabilities of two mid-grey images and checks each row sums to 1. */
static int predict_from(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    tl_model *model = NULL;
    int status = tl_model_load(path, &model);
    if (status != TL_OK) return fail("tl_model_load", status);
    char *description = NULL;
    status = tl_model_describe(model, &description);
    if (status != TL_OK) { tl_model_free(model); return fail("tl_model_describe", status); }
    fprintf(stderr, "model: %s\n", description);
    /* input_shape is [C,H,W]: its first entry follows the bracket, the others the commas. */
    const char *shape = strstr(description, "\"input_shape\":[");
    long channels = json_int(description, "\"input_shape\":["), classes = json_int(description, "\"classes\":");
    long height = shape ? strtol(strchr(shape, ',') + 1, NULL, 10) : -1;
    long width = shape ? strtol(strchr(strchr(shape, ',') + 1, ',') + 1, NULL, 10) : -1;
    tl_string_free(description);
    if (channels <= 0 || height <= 0 || width <= 0 || classes <= 1) { tl_model_free(model); return 4; }

    const long count = 2, size = channels * height * width;
    float *inputs = malloc(sizeof(float) * count * size), *probabilities = malloc(sizeof(float) * count * classes);
    if (!inputs || !probabilities) { free(inputs); free(probabilities); tl_model_free(model); return 4; }
    for (long i = 0; i < count * size; i++) inputs[i] = 0.5f;
    status = tl_model_predict(model, inputs, count, 1, probabilities);
    tl_model_free(model);
    int result = status == TL_OK ? 0 : fail("tl_model_predict", status);
    for (long n = 0; n < count && result == 0; n++) {
        double sum = 0;
        for (long k = 0; k < classes; k++) sum += probabilities[n * classes + k];
        fprintf(stderr, "sample %ld probabilities sum to %.6f\n", n, sum);
        if (fabs(sum - 1) > 1e-4) result = 4;
    }
    free(inputs);
    free(probabilities);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s METHOD DATASET_SPEC [OUT_DIR [STOP_AFTER]]\n", argv[0]);
        return 2;
    }
    fprintf(stderr, "TrainingLab %s\n", tl_version());
    char *list = NULL, *description = NULL, *report = NULL;
    int status = tl_methods_list(&list);
    if (status != TL_OK) return fail("tl_methods_list", status);
    fprintf(stderr, "methods: %s\n", list);
    tl_string_free(list);

    status = tl_method_describe(argv[1], &description);
    if (status != TL_OK) return fail("tl_method_describe", status);
    tl_string_free(description);

    char config[1024];
    snprintf(config, sizeof config,
             "{\"dataset\": \"%s\", \"model\": \"mlp\", \"epochs\": %d, \"batch_size\": 32, \"crop_padding\": 0%s%s%s}",
             argv[2], EPOCHS, argc > 3 ? ", \"out\": \"" : "", argc > 3 ? argv[3] : "", argc > 3 ? "\"" : "");
    tl_run *run = NULL;
    status = tl_run_create(argv[1], config, &run);
    if (status != TL_OK) return fail("tl_run_create", status);

    progress_state state = {0, argc > 4 ? atoi(argv[4]) : 0};
    status = tl_run_execute(run, on_progress, &state);
    if (status != TL_OK) {
        tl_run_free(run);
        return fail("tl_run_execute", status);
    }
    status = tl_run_report(run, &report);
    if (status != TL_OK) {
        tl_run_free(run);
        return fail("tl_run_report", status);
    }
    printf("%s\n", report);
    fprintf(stderr, "epoch events: %d\n", state.epochs_seen);
    int complete = strstr(report, "\"complete\":true") != NULL;
    tl_string_free(report);
    tl_run_free(run);
    if (state.stop_after > 0) return !complete && state.epochs_seen == state.stop_after ? 0 : 3;
    if (!complete || state.epochs_seen != EPOCHS) return 3;
    return argc > 3 ? predict_from(argv[3]) : 0;
}
