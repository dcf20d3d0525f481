/* cli.c: argument parsing and validation; nothing here touches the state dir. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

enum {
  OPT_ID = 256,
  OPT_STATE_DIR,
  OPT_RUNTIME,
  OPT_RUNTIME_ROOT,
  OPT_RUNTIME_ARG,
  OPT_BUNDLE,
  OPT_EXEC_ID,
  OPT_START,
  OPT_NAME,
  OPT_TERMINAL,
  OPT_STDIN,
  OPT_LOG_DRIVER,
  OPT_LOG_PATH,
};

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"id", required_argument, NULL, OPT_ID},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"runtime", required_argument, NULL, OPT_RUNTIME},
    {"runtime-root", required_argument, NULL, OPT_RUNTIME_ROOT},
    {"runtime-arg", required_argument, NULL, OPT_RUNTIME_ARG},
    {"bundle", required_argument, NULL, OPT_BUNDLE},
    {"exec-id", required_argument, NULL, OPT_EXEC_ID},
    {"start", no_argument, NULL, OPT_START},
    {"name", required_argument, NULL, OPT_NAME},
    {"terminal", no_argument, NULL, OPT_TERMINAL},
    {"stdin", no_argument, NULL, OPT_STDIN},
    {"log-driver", required_argument, NULL, OPT_LOG_DRIVER},
    {"log-path", required_argument, NULL, OPT_LOG_PATH},
    {NULL, 0, NULL, 0},
};

/* ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$, the design's container id. */
static bool valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
      return false;
  }
  return true;
}

/* Exec ids are berthd's to choose; the shim only refuses what cannot be a journal field or a name. */
static bool printable(const char *s) {
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The runtime as given, or looked up in PATH when it has no slash; malloc'd, NULL when not found. */
static char *find_executable(const char *name) {
  if (strchr(name, '/')) {
    struct stat st;
    if (stat(name, &st) == 0 && S_ISREG(st.st_mode) && access(name, X_OK) == 0)
      return absolute_path(name);
    return NULL;
  }
  const char *path = getenv("PATH");
  if (!path)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (*path) {
    size_t len = strcspn(path, ":");
    char dir[4096];
    if (len > 0 && len < sizeof(dir)) {
      memcpy(dir, path, len);
      dir[len] = '\0';
      char *candidate = path_join(dir, name);
      if (!candidate)
        return NULL;
      struct stat st;
      if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) {
        char *abs = absolute_path(candidate);
        free(candidate);
        return abs;
      }
      free(candidate);
    }
    path += len + (path[len] == ':');
  }
  return NULL;
}

static int set_path(char **slot, const char *value, const char *option, char *err, size_t errlen) {
  if (*value == '\0')
    return fail(err, errlen, "%s needs a non-empty path", option);
  free(*slot);
  *slot = absolute_path(value);
  if (!*slot)
    return fail(err, errlen, "%s %s: %s", option, value, strerror(errno));
  return 0;
}

static int check(struct shim_config *cfg, char *err, size_t errlen) {
  if (!cfg->id)
    return fail(err, errlen, "--id is required");
  if (!valid_id(cfg->id))
    return fail(err, errlen, "invalid --id '%s': it must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", cfg->id);
  if (!cfg->state_dir)
    return fail(err, errlen, "--state-dir is required");
  if (!is_dir(cfg->state_dir))
    return fail(err, errlen, "state dir %s does not exist or is not a directory", cfg->state_dir);
  if (!cfg->runtime)
    return fail(err, errlen, "--runtime is required");
  if (!cfg->runtime_root)
    return fail(err, errlen, "--runtime-root is required");
  if (cfg->start && cfg->exec_id)
    return fail(err, errlen, "--start is for create mode (--bundle): an exec'd process runs at once");
  if (!cfg->bundle == !cfg->exec_id)
    return fail(err, errlen, "exactly one of --bundle (create) and --exec-id (exec) is required");
  if (cfg->bundle) {
    if (!is_dir(cfg->bundle))
      return fail(err, errlen, "bundle %s does not exist or is not a directory", cfg->bundle);
    _cleanup_free_ char *config = path_join(cfg->bundle, "config.json");
    if (!config || access(config, F_OK) < 0)
      return fail(err, errlen, "bundle %s has no config.json", cfg->bundle);
  } else {
    if (!printable(cfg->exec_id) || strchr(cfg->exec_id, '/'))
      return fail(err, errlen, "invalid --exec-id '%s'", cfg->exec_id);
    _cleanup_free_ char *process = path_join(cfg->state_dir, "process.json");
    if (!process || access(process, R_OK) < 0)
      return fail(err, errlen, "exec mode needs %s/process.json, written before the shim starts",
                  cfg->state_dir);
  }
  if (!cfg->name)
    cfg->name = cfg->id;
  else if (!printable(cfg->name))
    return fail(err, errlen, "invalid --name: it must be non-empty printable text");
  if (cfg->log_driver == LOG_DRIVER_FILE && !cfg->log_path) {
    cfg->log_path = path_join(cfg->state_dir, "log");
    if (!cfg->log_path)
      return fail(err, errlen, "out of memory");
  }
  /* Checked last, so that a bad bundle or state dir is reported before a runtime lookup. */
  char *runtime = find_executable(cfg->runtime);
  if (!runtime)
    return fail(err, errlen, "runtime %s not found or not executable", cfg->runtime);
  free(cfg->runtime);
  cfg->runtime = runtime;
  return 0;
}

enum cli_result cli_parse(int argc, char **argv, struct shim_config *cfg, char *err, size_t errlen) {
  *cfg = (struct shim_config){.log_driver = LOG_DRIVER_FILE};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
    int r = 0;
    switch (c) {
    case 'h':
      return CLI_HELP;
    case OPT_ID:
      cfg->id = optarg;
      break;
    case OPT_STATE_DIR:
      r = set_path(&cfg->state_dir, optarg, "--state-dir", err, errlen);
      break;
    case OPT_RUNTIME:
      free(cfg->runtime);
      cfg->runtime = strdup(optarg);
      break;
    case OPT_RUNTIME_ROOT:
      r = set_path(&cfg->runtime_root, optarg, "--runtime-root", err, errlen);
      break;
    case OPT_RUNTIME_ARG:
      if (cfg->n_runtime_args == MAX_RUNTIME_ARGS) {
        r = fail(err, errlen, "at most %d --runtime-arg options", MAX_RUNTIME_ARGS);
        break;
      }
      cfg->runtime_args[cfg->n_runtime_args++] = optarg;
      break;
    case OPT_BUNDLE:
      r = set_path(&cfg->bundle, optarg, "--bundle", err, errlen);
      break;
    case OPT_EXEC_ID:
      cfg->exec_id = optarg;
      break;
    case OPT_START:
      cfg->start = true;
      break;
    case OPT_NAME:
      cfg->name = optarg;
      break;
    case OPT_TERMINAL:
      cfg->terminal = true;
      break;
    case OPT_STDIN:
      cfg->keep_stdin = true;
      break;
    case OPT_LOG_DRIVER:
      if (strcmp(optarg, "file") == 0)
        cfg->log_driver = LOG_DRIVER_FILE;
      else if (strcmp(optarg, "journald") == 0)
        cfg->log_driver = LOG_DRIVER_JOURNALD;
      else if (strcmp(optarg, "none") == 0)
        cfg->log_driver = LOG_DRIVER_NONE;
      else
        r = fail(err, errlen, "unknown --log-driver '%s' (file, journald or none)", optarg);
      break;
    case OPT_LOG_PATH:
      r = set_path(&cfg->log_path, optarg, "--log-path", err, errlen);
      break;
    case ':':
      r = fail(err, errlen, "%s needs a value", argv[optind - 1]);
      break;
    default:
      r = fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
      break;
    }
    if (r < 0)
      return CLI_ERROR;
  }
  if (optind < argc) {
    fail(err, errlen, "unexpected argument '%s'", argv[optind]);
    return CLI_ERROR;
  }
  return check(cfg, err, errlen) < 0 ? CLI_ERROR : CLI_OK;
}

void cli_free(struct shim_config *cfg) {
  free(cfg->state_dir);
  free(cfg->runtime);
  free(cfg->runtime_root);
  free(cfg->bundle);
  free(cfg->log_path);
}
