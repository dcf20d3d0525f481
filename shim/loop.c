/* loop.c: the long-lived shim's one event loop (poll + signalfd), from "created" to exit.json. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "console.h"
#include "exit.h"
#include "shim.h"
#include "util.h"

/* Output still arriving after the process is gone (from its orphans) is drained for at most this. */
#define DRAIN_AFTER_EXIT_MS 2000
#define READ_CHUNK (32 * 1024)

enum { P_SIGNAL, P_CONTROL, P_OOM, P_OUT, P_ERR, P_OUT_FIFO, P_ERR_FIFO, P_STDIN, P_STDIN_DST, P_COUNT };

static void apply_command(void *ctx, const struct control_command *cmd) {
  struct shim *s = ctx;
  switch (cmd->op) {
  case CONTROL_RESIZE:
    if (s->master < 0) {
      diag("control.fifo: resize ignored: the process has no terminal");
      return;
    }
    int r = console_resize(s->master, cmd->columns, cmd->rows);
    if (r < 0)
      diag("resize %ux%u: %s", cmd->columns, cmd->rows, strerror(-r));
    return;
  case CONTROL_CLOSE_STDIN:
    in_stream_close_request(&s->in);
    return;
  }
}

/* Returns true when the process in init.pid has exited, filling *status. */
static bool handle_signals(struct shim *s, struct exit_status *status) {
  bool exited = false;
  struct signalfd_siginfo si;
  ssize_t n;
  while ((n = read_retry(s->signal_fd, &si, sizeof(si))) == sizeof(si)) {
    if (si.ssi_signo != SIGCHLD)
      diag("ignoring signal %u from pid %u: the shim ends when its process does", si.ssi_signo, si.ssi_pid);
  }
  if (n < 0 && errno != EAGAIN)
    diag("reading signalfd: %s", strerror(errno));
  /* Reap on every wake-up: SIGCHLDs coalesce. */
  exited = reap_children(s->init_pid, status);
  return exited;
}

static void watch(struct pollfd *p, int fd, short events) {
  *p = (struct pollfd){.fd = events ? fd : -1, .events = events};
}

int shim_loop(struct shim *s) {
  char buf[READ_CHUNK];
  struct exit_status status;
  bool exited = false;
  uint64_t deadline = 0;
  for (;;) {
    struct pollfd p[P_COUNT];
    watch(&p[P_SIGNAL], s->signal_fd, exited ? 0 : POLLIN);
    watch(&p[P_CONTROL], s->control.fd, POLLIN);
    watch(&p[P_OOM], s->oom.fd, s->oom.fd >= 0 ? POLLIN : 0);
    for (int k = 0; k < 2; k++) {
      struct out_stream *o = &s->out[k];
      watch(&p[P_OUT + k], o->src, o->src >= 0 ? POLLIN : 0);
      watch(&p[P_OUT_FIFO + k], o->fifo, o->fifo >= 0 && o->pending_len > 0 ? POLLOUT : 0);
    }
    bool stdin_pending = s->in.pending_len > s->in.pending_off;
    watch(&p[P_STDIN], s->in.fifo, s->in.fifo >= 0 && s->in.dst >= 0 && !stdin_pending ? POLLIN : 0);
    watch(&p[P_STDIN_DST], s->in.dst, s->in.dst >= 0 && stdin_pending ? POLLOUT : 0);

    int timeout = -1;
    if (exited) {
      uint64_t now = now_monotonic_ms();
      if ((s->out[0].src < 0 && s->out[1].src < 0) || now >= deadline)
        break;
      timeout = (int)(deadline - now);
    }
    int n = poll(p, P_COUNT, timeout);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      diag("poll: %s", strerror(errno));
      return SHIM_EXIT_FAILED;
    }
    if (p[P_SIGNAL].revents && handle_signals(s, &status)) {
      exited = true;
      deadline = now_monotonic_ms() + DRAIN_AFTER_EXIT_MS;
      diag("process %d exited with %d", (int)status.pid, status.exit_code);
    }
    if (p[P_CONTROL].revents)
      control_pump(&s->control, apply_command, s);
    if (p[P_OOM].revents && oom_watch_event(&s->oom))
      oom_record(s->dirfd, s->oom.events, now_realtime_us());
    for (int k = 0; k < 2; k++) {
      if (p[P_OUT_FIFO + k].revents)
        out_stream_flush(&s->out[k]);
      if (p[P_OUT + k].revents)
        out_stream_pump(&s->out[k], &s->sink, s->dirfd, buf, sizeof(buf));
    }
    if (p[P_STDIN].revents || p[P_STDIN_DST].revents)
      in_stream_pump(&s->in);
  }
  for (int k = 0; k < 2; k++) {
    if (s->out[k].src >= 0)
      diag("%s still open %d ms after the process exited (held by another process): stop reading it",
           k == STREAM_STDOUT ? "stdout" : "stderr", DRAIN_AFTER_EXIT_MS);
    out_stream_flush(&s->out[k]);
  }
  status.oom_killed = oom_watch_killed(&s->oom);
  int r = exit_status_write(s->dirfd, &status);
  if (r < 0) {
    diag("writing exit.json: %s", strerror(-r));
    return SHIM_EXIT_FAILED;
  }
  diag("wrote exit.json: exit code %d, signal %d, oom-killed %s", status.exit_code, status.signal,
       status.oom_killed ? "yes" : "no");
  return SHIM_EXIT_OK;
}
