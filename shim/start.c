/* start.c: the child's start-up, from fork to "created" (docs/shim.md "Life", step 1). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "console.h"
#include "runtime.h"
#include "shim.h"
#include "util.h"

void shim_init(struct shim *s, const struct shim_config *cfg, int dirfd) {
  *s = (struct shim){.cfg = cfg, .dirfd = dirfd, .signal_fd = -1, .exit_fifo = -1, .master = -1};
  out_stream_init(&s->out[STREAM_STDOUT], STREAM_STDOUT);
  out_stream_init(&s->out[STREAM_STDERR], STREAM_STDERR);
  in_stream_init(&s->in);
  control_init(&s->control);
  s->sink.fd = -1;
  oom_watch_init(&s->oom);
}

/* The long-lived shim must not hold its starter's stdio: a reader of those would never see EOF. */
static int detach_stdio(char *err, size_t errlen) {
  _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return fail(err, errlen, "/dev/null: %s", strerror(errno));
  for (int i = 0; i < 3; i++)
    if (dup2(null, i) < 0)
      return fail(err, errlen, "dup2 /dev/null: %s", strerror(errno));
  return 0;
}

static int open_fifo(struct shim *s, const char *name, int flags, char *err, size_t errlen) {
  int fd = openat(s->dirfd, name, flags | O_CLOEXEC);
  if (fd < 0)
    return fail(err, errlen, "opening FIFO %s: %s", name, strerror(errno));
  return fd;
}

static int setup_signals(struct shim *s, char *err, size_t errlen) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  /* Stopping the shim would leave the container unsupervised; it ends when the container does. */
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
    return fail(err, errlen, "sigprocmask: %s", strerror(errno));
  s->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (s->signal_fd < 0)
    return fail(err, errlen, "signalfd: %s", strerror(errno));
  return 0;
}

static int write_shim_pid(struct shim *s, char *err, size_t errlen) {
  char line[24];
  int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
  int r = write_file_atomic(s->dirfd, "shim.pid", line, (size_t)n);
  return r < 0 ? fail(err, errlen, "writing shim.pid: %s", strerror(-r)) : 0;
}

static int read_init_pid(struct shim *s, char *err, size_t errlen) {
  char buf[32];
  unsigned long long pid;
  ssize_t n = read_file_at(s->dirfd, "init.pid", buf, sizeof(buf));
  if (n < 0)
    return fail(err, errlen, "the runtime succeeded but init.pid is unreadable: %s", strerror((int)-n));
  if (parse_uint(buf, 0x7fffffff, &pid) < 0 || pid == 0)
    return fail(err, errlen, "init.pid holds no pid: '%s'", buf);
  s->init_pid = (pid_t)pid;
  return 0;
}

/* The terminal's master replaces the pipe that only caught the runtime's own output. */
static int take_terminal(struct shim *s, int listen_fd, char *err, size_t errlen) {
  if (console_receive(listen_fd, &s->master, err, errlen) < 0)
    return -1;
  close_fd(&s->out[STREAM_STDOUT].src);
  s->out[STREAM_STDOUT].src = fcntl(s->master, F_DUPFD_CLOEXEC, 3);
  if (s->out[STREAM_STDOUT].src < 0)
    return fail(err, errlen, "dup terminal: %s", strerror(errno));
  s->in.terminal = true;
  if (s->cfg->keep_stdin) {
    s->in.dst = fcntl(s->master, F_DUPFD_CLOEXEC, 3);
    if (s->in.dst < 0)
      return fail(err, errlen, "dup terminal: %s", strerror(errno));
  }
  return 0;
}

/* Runs the runtime (and takes the terminal); created is set once the runtime may have made something,
 * issued_at to when it was called. */
static int create_process(struct shim *s, bool *created, uint64_t *issued_at, char *err, size_t errlen) {
  const struct shim_config *cfg = s->cfg;
  struct runtime_stdio rt;
  if (stdio_pipes(s->out, &s->in, &rt, cfg->terminal, cfg->keep_stdin, err, errlen) < 0) {
    runtime_stdio_close(&rt);
    return -1;
  }
  _cleanup_free_ char *console_path = NULL;
  _cleanup_close_ int listen_fd = -1;
  if (cfg->terminal && (listen_fd = console_listen(cfg->state_dir, &console_path, err, errlen)) < 0) {
    runtime_stdio_close(&rt);
    return -1;
  }
  const int printed[2] = {s->out[STREAM_STDOUT].src, s->out[STREAM_STDERR].src};
  *created = true;
  *issued_at = now_realtime_us();
  int r = runtime_start_process(cfg, console_path, &rt, printed, err, errlen);
  /* The process holds its own ends now; ours would hide its EOF. */
  runtime_stdio_close(&rt);
  if (r == 0 && cfg->terminal)
    r = take_terminal(s, listen_fd, err, errlen);
  if (console_path && unlink(console_path) < 0)
    diag("removing %s: %s", console_path, strerror(errno));
  return r;
}

/*
 * --start: started.json records when the runtime's run was issued (the process may run, even exit,
 * before the runtime returns), written only once it succeeded, so its presence tells a restarted
 * berthd that the process was started.
 */
static int write_started(struct shim *s, uint64_t started_at, char *err, size_t errlen) {
  char json[64];
  int n = snprintf(json, sizeof(json), "{\"started_at\":%" PRIu64 "}\n", started_at);
  int r = write_file_atomic(s->dirfd, "started.json", json, (size_t)n);
  return r < 0 ? fail(err, errlen, "writing started.json: %s", strerror(-r)) : 0;
}

static void undo_start(struct shim *s, bool created) {
  if (created && s->cfg->bundle) {
    runtime_delete_force(s->cfg);
  } else if (created && s->init_pid > 0) {
    /* An exec'd process that runs but cannot be supervised must not stay behind. */
    if (kill(s->init_pid, SIGKILL) < 0)
      diag("killing exec'd process %d: %s", (int)s->init_pid, strerror(errno));
  }
  static const char *const made[] = {"init.pid", "shim.pid", "console.sock", "started.json"};
  for (size_t i = 0; i < ARRAY_SIZE(made); i++)
    if (unlinkat(s->dirfd, made[i], 0) < 0 && errno != ENOENT)
      diag("removing %s: %s", made[i], strerror(errno));
}

int shim_start(struct shim *s, char *err, size_t errlen) {
  const struct shim_config *cfg = s->cfg;
  if (setsid() < 0)
    return fail(err, errlen, "setsid: %s", strerror(errno));
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
    return fail(err, errlen, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  /* Every path the shim uses is absolute; its starter's working directory must not stay busy. */
  if (chdir("/") < 0)
    return fail(err, errlen, "chdir /: %s", strerror(errno));
  int r = diag_open(s->dirfd);
  if (r < 0)
    return fail(err, errlen, "cannot open shim.log in the state dir: %s", strerror(-r));
  if (detach_stdio(err, errlen) < 0 || write_shim_pid(s, err, errlen) < 0)
    return -1;
  bool created = false;
  uint64_t started_at = 0;
  if ((s->exit_fifo = open_fifo(s, "exit.fifo", O_RDWR, err, errlen)) < 0 ||
      (s->control.fd = open_fifo(s, "control.fifo", O_RDWR | O_NONBLOCK, err, errlen)) < 0 ||
      (cfg->keep_stdin && (s->in.fifo = open_fifo(s, "stdin", O_RDWR | O_NONBLOCK, err, errlen)) < 0) ||
      setup_signals(s, err, errlen) < 0 || create_process(s, &created, &started_at, err, errlen) < 0 ||
      read_init_pid(s, err, errlen) < 0 ||
      oom_watch_start(&s->oom, s->init_pid, cfg->start, err, errlen) < 0 ||
      (cfg->start && write_started(s, started_at, err, errlen) < 0) ||
      /* Opened once the runtime succeeded, so that a failed create or run leaves no log file;
       * output waits in the pipe meanwhile. */
      log_sink_open(&s->sink, cfg, err, errlen) < 0) {
    diag("start-up failed: %s", err);
    undo_start(s, created);
    return -1;
  }
  if (s->in.fifo >= 0)
    pipe_grow(s->in.fifo);
  diag("%s %s%s%s: pid %d", cfg->start ? "started" : "created", cfg->id, cfg->exec_id ? " exec " : "",
       cfg->exec_id ? cfg->exec_id : "", (int)s->init_pid);
  return 0;
}

void shim_close(struct shim *s) {
  out_stream_close(&s->out[STREAM_STDOUT]);
  out_stream_close(&s->out[STREAM_STDERR]);
  in_stream_close(&s->in);
  close_fd(&s->control.fd);
  close_fd(&s->master);
  oom_watch_stop(&s->oom);
  log_sink_close(&s->sink);
  close_fd(&s->signal_fd);
  close_fd(&s->exit_fifo);
}
