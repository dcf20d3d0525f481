/* runtime.c: see runtime.h. */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* runtime + extra args + global options + the longest subcommand, NULL-terminated. */
#define MAX_ARGV (MAX_RUNTIME_ARGS + 24)
/* Only the tail of runtime.log can hold this call's error. */
#define LOG_TAIL_MAX (64 * 1024)

struct argv_builder {
  const char *argv[MAX_ARGV];
  size_t n;
};

static void push(struct argv_builder *b, const char *arg) {
  if (b->n < MAX_ARGV - 1)
    b->argv[b->n++] = arg;
  b->argv[b->n] = NULL;
}

struct state_paths {
  char *log;
  char *pid_file;
  char *process;
};

static void state_paths_free(struct state_paths *p) {
  free(p->log);
  free(p->pid_file);
  free(p->process);
}

static int state_paths_make(const struct shim_config *cfg, struct state_paths *p) {
  *p = (struct state_paths){
      .log = path_join(cfg->state_dir, "runtime.log"),
      .pid_file = path_join(cfg->state_dir, "init.pid"),
      .process = path_join(cfg->state_dir, "process.json"),
  };
  return p->log && p->pid_file && p->process ? 0 : -ENOMEM;
}

static void push_globals(struct argv_builder *b, const struct shim_config *cfg, const struct state_paths *p) {
  push(b, cfg->runtime);
  for (size_t i = 0; i < cfg->n_runtime_args; i++)
    push(b, cfg->runtime_args[i]);
  push(b, "--root");
  push(b, cfg->runtime_root);
  push(b, "--log");
  push(b, p->log);
  push(b, "--log-format");
  push(b, "json");
}

/*
 * The shim inherits berthd.service's negative OOMScoreAdjust (the supervisor should be the OOM
 * killer's last choice); the runtime, and so the container it creates, must not: they get the
 * neutral 0 back (the runtime then applies the bundle's process.oomScoreAdj, if any). Raising the
 * value needs no privilege. Best effort: a kernel without the file leaves nothing to undo.
 */
static void reset_oom_score_adj(void) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  if (write(fd, "0\n", 2) < 0) {
    /* nothing to do about it in a child about to exec */
  }
  close(fd);
}

/* Runs argv with fds as its stdio and waits for it; returns its wait status or -errno. */
static int run(const struct argv_builder *b, const int fds[3]) {
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid == 0) {
    for (int i = 0; i < 3; i++)
      if (dup2(fds[i], i) < 0)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    reset_oom_score_adj();
    execv(b->argv[0], (char *const *)b->argv);
    dprintf(STDERR_FILENO, "cannot execute %s: %s\n", b->argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -errno;
  return status;
}

/* The JSON string value of "key" in one log line, unescaped into out; false when absent. */
static bool json_string(const char *line, const char *key, char *out, size_t size) {
  char quoted[32];
  snprintf(quoted, sizeof(quoted), "\"%s\"", key);
  const char *p = strstr(line, quoted);
  if (!p)
    return false;
  p += strlen(quoted);
  while (*p == ' ' || *p == ':')
    p++;
  if (*p++ != '"')
    return false;
  size_t n = 0;
  for (; *p && *p != '"' && n < size - 1; p++) {
    char c = *p;
    if (c == '\\' && p[1]) {
      c = *++p;
      if (c == 'n' || c == 't' || c == 'r')
        c = ' ';
      else if (c == 'u') {
        /* Non-ASCII escapes only appear in odd paths; a placeholder keeps the message readable. */
        c = '?';
        for (int i = 0; i < 4 && p[1]; i++)
          p++;
      }
    }
    out[n++] = c;
  }
  out[n] = '\0';
  return true;
}

/* The last "error" (or "fatal") message the runtime logged since offset. */
static bool logged_error(const char *log_path, off_t offset, char *msg, size_t size) {
  _cleanup_close_ int fd = open(log_path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= offset)
    return false;
  if (st.st_size - offset > LOG_TAIL_MAX)
    offset = st.st_size - LOG_TAIL_MAX;
  _cleanup_free_ char *buf = malloc((size_t)(st.st_size - offset) + 1);
  if (!buf)
    return false;
  ssize_t n = pread(fd, buf, (size_t)(st.st_size - offset), offset);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  bool found = false;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char level[16];
    if (json_string(line, "level", level, sizeof(level)) &&
        (strcmp(level, "error") == 0 || strcmp(level, "fatal") == 0) && json_string(line, "msg", msg, size))
      found = true;
  }
  return found;
}

/* What the runtime printed on its stdout/stderr, whitespace-trimmed. */
static bool printed_text(const int fds[2], char *msg, size_t size) {
  size_t n = 0;
  for (int i = 0; i < 2; i++) {
    if (fds[i] < 0)
      continue;
    ssize_t r;
    while (n < size - 1 && (r = read_retry(fds[i], msg + n, size - 1 - n)) > 0)
      n += (size_t)r;
  }
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '\r'))
    n--;
  msg[n] = '\0';
  for (size_t i = 0; i < n; i++)
    if (msg[i] == '\n')
      msg[i] = ' ';
  return n > 0;
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * Runs the runtime call b (`call` names it in messages, e.g. "runc create ID") with fds as its stdio.
 * Returns 0 when it succeeded; else -1 and err reads "<call>: <the runtime's own words>": its last
 * error in runtime.log since the call began, or else what it printed on printed_fds.
 */
static int run_runtime(const struct argv_builder *b, const int fds[3], const int printed_fds[2],
                       const char *log_path, const char *call, char *err, size_t errlen) {
  off_t log_offset = file_size(log_path);
  diag("running %s", call);
  int status = run(b, fds);
  if (status < 0)
    return fail(err, errlen, "%s: cannot run it: %s", call, strerror(-status));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  char msg[ERR_MAX - 128];
  if (!logged_error(log_path, log_offset, msg, sizeof(msg)) && !printed_text(printed_fds, msg, sizeof(msg))) {
    if (WIFSIGNALED(status))
      snprintf(msg, sizeof(msg), "killed by signal %d", WTERMSIG(status));
    else
      snprintf(msg, sizeof(msg), "failed with status %d and printed nothing", WEXITSTATUS(status));
  }
  diag("%s failed: %s", call, msg);
  /* The runtime's own words, after the call they answer, since they need not name the container. */
  return fail(err, errlen, "%s: %s", call, msg);
}

static const char *runtime_name(const struct shim_config *cfg) {
  const char *slash = strrchr(cfg->runtime, '/');
  return slash ? slash + 1 : cfg->runtime;
}

int runtime_start_process(const struct shim_config *cfg, const char *console_path,
                          const struct runtime_stdio *rt, const int printed_fds[2], char *err,
                          size_t errlen) {
  _cleanup_(state_paths_free) struct state_paths paths;
  if (state_paths_make(cfg, &paths) < 0)
    return fail(err, errlen, "out of memory");
  struct argv_builder b = {.n = 0};
  push_globals(&b, cfg, &paths);
  char call[256];
  if (cfg->bundle) {
    /* --start: one runtime process creates and starts (runc's start alone is ~8 ms of CPU). */
    const char *verb = cfg->start ? "run" : "create";
    push(&b, verb);
    if (cfg->start)
      push(&b, "--detach");
    push(&b, "--bundle");
    push(&b, cfg->bundle);
    snprintf(call, sizeof(call), "%s %s %s", runtime_name(cfg), verb, cfg->id);
  } else {
    push(&b, "exec");
    push(&b, "-d");
    push(&b, "--process");
    push(&b, paths.process);
    snprintf(call, sizeof(call), "%s exec %s in container %s", runtime_name(cfg), cfg->exec_id, cfg->id);
  }
  push(&b, "--pid-file");
  push(&b, paths.pid_file);
  if (console_path) {
    push(&b, "--console-socket");
    push(&b, console_path);
  }
  push(&b, cfg->id);
  return run_runtime(&b, rt->fd, printed_fds, paths.log, call, err, errlen);
}

void runtime_delete_force(const struct shim_config *cfg) {
  _cleanup_(state_paths_free) struct state_paths paths;
  if (state_paths_make(cfg, &paths) < 0)
    return;
  _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) {
    diag("delete -f: /dev/null: %s", strerror(errno));
    return;
  }
  struct argv_builder b = {.n = 0};
  push_globals(&b, cfg, &paths);
  push(&b, "delete");
  push(&b, "-f");
  push(&b, cfg->id);
  const int fds[3] = {null, null, null};
  int status = run(&b, fds);
  if (status != 0)
    diag("%s delete -f %s: status %d (nothing to delete is fine)", cfg->runtime, cfg->id, status);
}
