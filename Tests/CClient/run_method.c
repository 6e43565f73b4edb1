/* A plain C99 client of TrainingLab: lists the methods, describes one, runs it by name with a JSON
   configuration and prints the JSON report. Usage: run_method METHOD DATASET_SPEC [OUT_DIR].
   Build: cc -std=c99 -I include run_method.c -L <lib dir> -lTrainingLab -Wl,-rpath,<lib dir> */
#include <stdio.h>
#include <string.h>

#include "traininglab.h"

static void on_progress(const char *event_json, void *user_data) {
    int *events = user_data;
    if (strstr(event_json, "\"event\":\"epoch\"")) (*events)++;
}

static int fail(const char *what, int status) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, tl_status_string(status), tl_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s METHOD DATASET_SPEC [OUT_DIR]\n", argv[0]);
        return 2;
    }
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
             "{\"dataset\": \"%s\", \"model\": \"mlp\", \"epochs\": 2, \"batch_size\": 32, \"crop_padding\": 0%s%s%s}",
             argv[2], argc > 3 ? ", \"out\": \"" : "", argc > 3 ? argv[3] : "", argc > 3 ? "\"" : "");
    tl_run *run = NULL;
    status = tl_run_create(argv[1], config, &run);
    if (status != TL_OK) return fail("tl_run_create", status);

    int epochs_seen = 0;
    status = tl_run_execute(run, on_progress, &epochs_seen);
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
    fprintf(stderr, "epoch events: %d\n", epochs_seen);
    tl_string_free(report);
    tl_run_free(run);
    return epochs_seen == 2 ? 0 : 3;
}
