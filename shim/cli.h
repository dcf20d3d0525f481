/* cli.h: the shim's command line (docs/shim.md), parsed and validated before anything is created. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define MAX_RUNTIME_ARGS 32

enum log_driver { LOG_DRIVER_FILE, LOG_DRIVER_JOURNALD, LOG_DRIVER_NONE };

struct shim_config {
  const char *id;
  const char *name;
  const char *exec_id; /* exec mode when set */
  char *state_dir;     /* absolute paths below are malloc'd; cli_free() releases them */
  char *runtime;
  char *runtime_root;
  char *bundle; /* create mode when set */
  char *log_path;
  const char *runtime_args[MAX_RUNTIME_ARGS];
  size_t n_runtime_args;
  bool start; /* create mode: run the runtime's start too, before reporting */
  bool terminal;
  bool keep_stdin;
  enum log_driver log_driver;
};

enum cli_result { CLI_OK, CLI_HELP, CLI_ERROR };

/* Parses and checks argv; on CLI_ERROR, err names the problem. */
enum cli_result cli_parse(int argc, char **argv, struct shim_config *cfg, char *err, size_t errlen);
void cli_free(struct shim_config *cfg);
