/* launcher.c: see launcher.h. berthd starts the launcher once, while berthd is small, and has it run the
 * runtime and the shim: a fork in berthd copies its page tables on its event loop thread (5 ms at 44 MB,
 * 15 ms at 350 MB), a posix_spawn here costs the same whatever berthd's size. The protocol is in
 * docs/shim.md ("Launcher mode"); integers are little-endian u32. */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

/* A request after its length: id, flags, timeout_ms, output cap, argc, then argc NUL-terminated strings. */
#define REQUEST_FIXED 20
/* A reply after its length: id, result, value, flags, stdout length, stderr length, then the bytes. */
#define REPLY_FIXED 24
#define MAX_REQUEST (1u << 20)
#define MAX_ARGC 4096u
#define MAX_CAP (64u << 20)
#define READ_CHUNK 65536

enum { REQUEST_CAPTURE_STDOUT = 1 };
enum { RESULT_EXITED = 0, RESULT_SIGNALED = 1, RESULT_NOT_RUN = 2 };
enum { REPLY_TIMED_OUT = 1 };

struct buf {
  char *data;
  size_t len;
  size_t size;
};

/* One pipe from a child: read while it runs (so it never blocks on a full pipe), kept up to the cap and
 * the rest dropped. */
struct capture {
  int fd;
  struct buf data;
};

struct job {
  struct job *next;
  uint32_t id;
  pid_t pid;
  uint32_t cap;
  uint64_t deadline_ms; /* CLOCK_MONOTONIC; 0: none (or already killed) */
  bool timed_out;
  struct capture out; /* fd -1 when stdout is not captured */
  struct capture err;
};

struct launcher {
  int sfd;
  bool reading;    /* false once stdin ended or a frame was out of sync */
  bool out_broken; /* berthd closed its end: replies are dropped */
  struct buf in;   /* request bytes not yet parsed */
  struct buf out;  /* reply bytes not yet written: never block on berthd */
  struct job *jobs;
  size_t n_jobs;
};

static void buf_free(struct buf *b) {
  free(b->data);
  *b = (struct buf){0};
}

static int buf_reserve(struct buf *b, size_t more) {
  if (b->size - b->len >= more)
    return 0;
  size_t size = b->size ? b->size : 4096;
  while (size - b->len < more)
    size *= 2;
  char *data = realloc(b->data, size);
  if (!data)
    return -ENOMEM;
  b->data = data;
  b->size = size;
  return 0;
}

static int buf_append(struct buf *b, const void *p, size_t n) {
  int r = buf_reserve(b, n);
  if (r < 0)
    return r;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static void buf_consume(struct buf *b, size_t n) {
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

static uint32_t get_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void put_u32(char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (char)(v >> (8 * i));
}

static void job_free(struct job *job) {
  close_fd(&job->out.fd);
  close_fd(&job->err.fd);
  buf_free(&job->out.data);
  buf_free(&job->err.data);
  free(job);
}

static void job_freep(struct job **job) {
  if (*job)
    job_free(*job);
}

static void close_pair(int (*fds)[2]) {
  close_fd(&(*fds)[0]);
  close_fd(&(*fds)[1]);
}

/* Writes what berthd can take now; the rest waits for POLLOUT. */
static void flush(struct launcher *l) {
  while (l->out.len > 0 && !l->out_broken) {
    ssize_t n = write(STDOUT_FILENO, l->out.data, l->out.len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n < 0) {
      diag("launcher: writing replies: %s; replies are dropped from now on", strerror(errno));
      l->out_broken = true;
      buf_free(&l->out);
      return;
    }
    buf_consume(&l->out, (size_t)n);
  }
}

static void reply(struct launcher *l, uint32_t id, uint32_t result, uint32_t value, uint32_t flags,
                  const struct buf *out, const struct buf *err) {
  if (l->out_broken)
    return;
  size_t out_len = out ? out->len : 0, err_len = err ? err->len : 0;
  char head[4 + REPLY_FIXED];
  put_u32(head, (uint32_t)(REPLY_FIXED + out_len + err_len));
  uint32_t fields[] = {id, result, value, flags, (uint32_t)out_len, (uint32_t)err_len};
  for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
    put_u32(head + 4 + 4 * i, fields[i]);
  if (buf_reserve(&l->out, sizeof(head) + out_len + err_len) < 0) {
    /* Without room for the reply, berthd would wait for it forever: stop, and let it see us gone. */
    diag("launcher: out of memory for the reply to request %u", id);
    exit(SHIM_EXIT_FAILED);
  }
  buf_append(&l->out, head, sizeof(head));
  if (out_len)
    buf_append(&l->out, out->data, out_len);
  if (err_len)
    buf_append(&l->out, err->data, err_len);
  flush(l);
}

static void reply_not_run(struct launcher *l, uint32_t id, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A request that started no process: the reason is the reply's stderr, errno its value. */
static void reply_not_run(struct launcher *l, uint32_t id, int error, const char *fmt, ...) {
  char text[ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  struct buf err = {.data = text,
                    .len = n < 0                       ? 0
                           : (size_t)n >= sizeof(text) ? sizeof(text) - 1
                                                       : (size_t)n};
  reply(l, id, RESULT_NOT_RUN, (uint32_t)error, 0, NULL, &err);
}

/* One read (or, with drain, every read until the pipe is empty); EOF closes the fd. */
static void capture_read(struct capture *c, uint32_t cap, bool drain) {
  char chunk[READ_CHUNK];
  while (c->fd >= 0) {
    ssize_t n = read(c->fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0) {
      if (n < 0)
        diag("launcher: reading a child's output: %s", strerror(errno));
      close_fd(&c->fd);
      return;
    }
    size_t keep = (size_t)n < cap - c->data.len ? (size_t)n : cap - c->data.len;
    if (keep > 0 && buf_append(&c->data, chunk, keep) < 0)
      diag("launcher: out of memory for a child's output; the rest is dropped");
    if (!drain)
      return;
  }
}

static int spawn_child(char **argv, bool capture_stdout, int out_fd, int err_fd, pid_t *pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  /* Ignored here (a departed berthd gives EPIPE, not death); the child gets the default back. */
  sigaddset(&defaults, SIGPIPE);
  int r = posix_spawn_file_actions_init(&actions);
  if (r != 0)
    return r;
  r = posix_spawnattr_init(&attr);
  if (r != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return r;
  }
  /* Only 0, 1 and 2 reach the child: every other fd of ours is O_CLOEXEC. */
  r = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (r == 0)
    r = capture_stdout ? posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO)
                       : posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (r == 0)
    r = posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  /* SIGCHLD is blocked here for the signalfd; a blocked mask would survive the exec. */
  if (r == 0)
    r = posix_spawnattr_setsigmask(&attr, &none);
  if (r == 0)
    r = posix_spawnattr_setsigdefault(&attr, &defaults);
  if (r == 0)
    r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  /* glibc's posix_spawn is clone(CLONE_VM | CLONE_VFORK): no page tables are copied, and a failing exec
   * is reported here. */
  if (r == 0)
    r = posix_spawnp(pid, argv[0], &actions, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return r;
}

static void start_job(struct launcher *l, uint32_t id, uint32_t flags, uint32_t timeout_ms, uint32_t cap,
                      char **argv) {
  _cleanup_(job_freep) struct job *job = calloc(1, sizeof(*job));
  _cleanup_(close_pair) int out_pipe[2] = {-1, -1};
  _cleanup_(close_pair) int err_pipe[2] = {-1, -1};
  if (!job) {
    reply_not_run(l, id, ENOMEM, "launcher: out of memory");
    return;
  }
  *job = (struct job){.id = id, .cap = cap, .out = {.fd = -1}, .err = {.fd = -1}};
  bool capture_stdout = flags & REQUEST_CAPTURE_STDOUT;
  if (pipe2(err_pipe, O_CLOEXEC) < 0 || (capture_stdout && pipe2(out_pipe, O_CLOEXEC) < 0)) {
    int e = errno;
    reply_not_run(l, id, e, "launcher: pipe: %s", strerror(e));
    return;
  }
  int r = spawn_child(argv, capture_stdout, out_pipe[1], err_pipe[1], &job->pid);
  if (r != 0) {
    reply_not_run(l, id, r, "%s: %s", argv[0], strerror(r));
    return;
  }
  /* Only our read ends are non-blocking: the child's write ends stay as a child expects them. */
  if (set_nonblock(err_pipe[0]) < 0 || (capture_stdout && set_nonblock(out_pipe[0]) < 0))
    diag("launcher: O_NONBLOCK on a pipe: %s", strerror(errno));
  job->err.fd = err_pipe[0];
  err_pipe[0] = -1;
  job->out.fd = out_pipe[0];
  out_pipe[0] = -1;
  if (timeout_ms > 0)
    job->deadline_ms = now_monotonic_ms() + timeout_ms;
  job->next = l->jobs;
  l->jobs = job;
  l->n_jobs++;
  job = NULL;
}

/* Checks a request (its bytes after the length) and points argv into it; returns 0, or -1 with err set. */
static int parse_request(const char *p, uint32_t len, uint32_t argc, char **argv, char *err, size_t errlen) {
  /* The strings must fill the frame exactly: argc of them, each NUL-terminated. */
  const char *s = p + REQUEST_FIXED, *end = p + len;
  for (uint32_t i = 0; i < argc; i++) {
    const char *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
    if (!nul)
      return fail(err, errlen, "bad request: %u of %u arguments, or one not NUL-terminated", i, argc);
    argv[i] = (char *)s;
    s = nul + 1;
  }
  if (s != end)
    return fail(err, errlen, "bad request: %zu bytes after the last argument", (size_t)(end - s));
  return 0;
}

/* One request; a bad one is answered as not run, and the stream goes on. */
static void handle_request(struct launcher *l, const char *p, uint32_t len) {
  uint32_t id = get_u32(p), flags = get_u32(p + 4), timeout_ms = get_u32(p + 8), cap = get_u32(p + 12),
           argc = get_u32(p + 16);
  char err[ERR_MAX];
  if (flags & ~(uint32_t)REQUEST_CAPTURE_STDOUT) {
    reply_not_run(l, id, EINVAL, "bad request: unknown flags 0x%x", flags);
  } else if (cap > MAX_CAP) {
    reply_not_run(l, id, EINVAL, "bad request: output cap %u is above %u", cap, MAX_CAP);
  } else if (argc == 0 || argc > MAX_ARGC) {
    reply_not_run(l, id, EINVAL, "bad request: argc %u (1 to %u)", argc, MAX_ARGC);
  } else {
    _cleanup_free_ char **argv = calloc(argc + 1, sizeof(char *));
    if (!argv)
      reply_not_run(l, id, ENOMEM, "launcher: out of memory");
    else if (parse_request(p, len, argc, argv, err, sizeof(err)) < 0)
      reply_not_run(l, id, EINVAL, "%s", err);
    else
      start_job(l, id, flags, timeout_ms, cap, argv);
  }
}

/* Parses every complete frame; a length out of range means the stream is out of sync: stop reading. */
static void handle_input(struct launcher *l) {
  size_t pos = 0;
  while (l->reading && l->in.len - pos >= 4) {
    uint32_t len = get_u32(l->in.data + pos);
    if (len < REQUEST_FIXED || len > MAX_REQUEST) {
      reply_not_run(l, 0, EPROTO, "bad request frame: length %u (%u to %u); no more requests are read", len,
                    REQUEST_FIXED, MAX_REQUEST);
      l->reading = false;
      break;
    }
    if (l->in.len - pos - 4 < len)
      break;
    handle_request(l, l->in.data + pos + 4, len);
    pos += 4 + (size_t)len;
  }
  buf_consume(&l->in, pos);
}

static void read_requests(struct launcher *l) {
  if (buf_reserve(&l->in, READ_CHUNK) < 0) {
    diag("launcher: out of memory for requests");
    exit(SHIM_EXIT_FAILED);
  }
  ssize_t n = read(STDIN_FILENO, l->in.data + l->in.len, l->in.size - l->in.len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    if (n < 0)
      diag("launcher: reading requests: %s", strerror(errno));
    else if (l->in.len > 0)
      diag("launcher: stdin ended inside a request (%zu bytes)", l->in.len);
    /* berthd is gone or stopping: no new children; the running ones are still waited for. */
    l->reading = false;
    return;
  }
  l->in.len += (size_t)n;
  handle_input(l);
}

static void finish_job(struct launcher *l, struct job *job, int status) {
  /* Everything the child wrote is in the pipes now; a descendant still holding them is not waited for. */
  capture_read(&job->out, job->cap, true);
  capture_read(&job->err, job->cap, true);
  uint32_t flags = job->timed_out ? REPLY_TIMED_OUT : 0;
  if (WIFSIGNALED(status))
    reply(l, job->id, RESULT_SIGNALED, (uint32_t)WTERMSIG(status), flags, &job->out.data, &job->err.data);
  else
    reply(l, job->id, RESULT_EXITED, (uint32_t)WEXITSTATUS(status), flags, &job->out.data, &job->err.data);
  for (struct job **p = &l->jobs; *p; p = &(*p)->next) {
    if (*p == job) {
      *p = job->next;
      break;
    }
  }
  l->n_jobs--;
  job_free(job);
}

static void reap(struct launcher *l) {
  struct signalfd_siginfo info;
  while (read(l->sfd, &info, sizeof(info)) == sizeof(info))
    ; /* SIGCHLDs coalesce: waitpid below finds every child that ended */
  for (struct job *job = l->jobs, *next; job; job = next) {
    next = job->next;
    int status;
    pid_t pid = waitpid(job->pid, &status, WNOHANG);
    if (pid == job->pid)
      finish_job(l, job, status);
    else if (pid < 0 && errno != EINTR)
      diag("launcher: waitpid(%d): %s", (int)job->pid, strerror(errno));
  }
}

/* Kills children past their deadline; returns the poll timeout until the next deadline (-1: none). */
static int enforce_deadlines(struct launcher *l) {
  uint64_t now = now_monotonic_ms(), next = 0;
  for (struct job *job = l->jobs; job; job = job->next) {
    if (job->deadline_ms == 0)
      continue;
    if (job->deadline_ms <= now) {
      if (kill(job->pid, SIGKILL) < 0)
        diag("launcher: kill(%d, SIGKILL): %s", (int)job->pid, strerror(errno));
      job->timed_out = true;
      job->deadline_ms = 0;
    } else if (next == 0 || job->deadline_ms < next) {
      next = job->deadline_ms;
    }
  }
  if (next == 0)
    return -1;
  return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static int serve(struct launcher *l) {
  _cleanup_free_ struct pollfd *fds = NULL;
  _cleanup_free_ struct capture **captures = NULL;
  _cleanup_free_ uint32_t *caps = NULL;
  size_t room = 0;
  while (l->reading || l->jobs || (l->out.len > 0 && !l->out_broken)) {
    size_t need = 3 + 2 * l->n_jobs;
    if (need > room) {
      room = need * 2;
      struct pollfd *f = realloc(fds, room * sizeof(*fds));
      if (f)
        fds = f;
      struct capture **c = realloc(captures, room * sizeof(*captures));
      if (c)
        captures = c;
      uint32_t *k = realloc(caps, room * sizeof(*caps));
      if (k)
        caps = k;
      if (!f || !c || !k) {
        diag("launcher: out of memory for the poll set");
        return SHIM_EXIT_FAILED;
      }
    }
    nfds_t n = 0;
    fds[n++] = (struct pollfd){.fd = l->sfd, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = l->reading ? STDIN_FILENO : -1, .events = POLLIN};
    fds[n++] =
        (struct pollfd){.fd = l->out.len > 0 && !l->out_broken ? STDOUT_FILENO : -1, .events = POLLOUT};
    for (struct job *job = l->jobs; job; job = job->next) {
      struct capture *pair[] = {&job->out, &job->err};
      for (size_t i = 0; i < ARRAY_SIZE(pair); i++) {
        if (pair[i]->fd < 0)
          continue;
        captures[n] = pair[i];
        caps[n] = job->cap;
        fds[n++] = (struct pollfd){.fd = pair[i]->fd, .events = POLLIN};
      }
    }
    int timeout = enforce_deadlines(l);
    if (poll(fds, n, timeout) < 0) {
      if (errno == EINTR)
        continue;
      diag("launcher: poll: %s", strerror(errno));
      return SHIM_EXIT_FAILED;
    }
    /* Output before reaping, so that a child's last bytes are read by the same pass that reaps it. */
    for (nfds_t i = 3; i < n; i++)
      if (fds[i].revents)
        capture_read(captures[i], caps[i], false);
    if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))
      flush(l);
    if (fds[1].revents)
      read_requests(l);
    if (fds[0].revents)
      reap(l);
  }
  return SHIM_EXIT_OK;
}

int launcher_main(void) {
  struct launcher l = {.sfd = -1, .reading = true};
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0) {
    diag("launcher: sigprocmask: %s", strerror(errno));
    return SHIM_EXIT_FAILED;
  }
  l.sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (l.sfd < 0) {
    diag("launcher: signalfd: %s", strerror(errno));
    return SHIM_EXIT_FAILED;
  }
  int code = SHIM_EXIT_FAILED;
  if (set_nonblock(STDIN_FILENO) < 0 || set_nonblock(STDOUT_FILENO) < 0)
    diag("launcher: O_NONBLOCK on stdin/stdout: %s", strerror(errno));
  else
    code = serve(&l);
  for (struct job *job = l.jobs, *next; job; job = next) {
    next = job->next;
    job_free(job);
  }
  buf_free(&l.in);
  buf_free(&l.out);
  close_fd(&l.sfd);
  return code;
}
