/* streams.c: FIFOs and pipes. The container's output is always read (a container never blocks on a
 * missing reader); a FIFO is written only while a reader has it open, see docs/shim.md "Stdio". */
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

#define PENDING_MAX (1024 * 1024)
#define STDIN_CHUNK (16 * 1024)

static const char *const fifo_names[] = {"stdin", "stdout", "stderr", "control.fifo", "exit.fifo"};
static const char *const out_fifo_names[] = {"stdout", "stderr"};

/* stdout and stderr may already be FIFOs: berthd makes an exec's before launching the shim and holds
 * their read ends, so output written before a client's OpenStdio is kept. stdin comes first and is
 * always made here, so a second shim on a live state dir is still refused before it touches anything. */
static bool premade_output_fifo(int dirfd, const char *name) {
  struct stat st;
  return (strcmp(name, "stdout") == 0 || strcmp(name, "stderr") == 0) &&
         fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode);
}

int fifos_create(int dirfd, char *err, size_t errlen) {
  for (size_t i = 0; i < ARRAY_SIZE(fifo_names); i++) {
    if (mkfifoat(dirfd, fifo_names[i], 0600) < 0) {
      int e = errno;
      if (e == EEXIST && i > 0 && premade_output_fifo(dirfd, fifo_names[i]))
        continue;
      for (size_t j = 0; j < i; j++)
        unlinkat(dirfd, fifo_names[j], 0);
      if (e == EEXIST)
        return fail(err, errlen, "the state dir already has %s: is another shim using it?", fifo_names[i]);
      return fail(err, errlen, "cannot create FIFO %s in the state dir: %s", fifo_names[i], strerror(e));
    }
  }
  return 0;
}

void fifos_remove(int dirfd) {
  for (size_t i = 0; i < ARRAY_SIZE(fifo_names); i++)
    if (unlinkat(dirfd, fifo_names[i], 0) < 0 && errno != ENOENT)
      diag("removing %s: %s", fifo_names[i], strerror(errno));
}

void out_stream_init(struct out_stream *s, enum stream_kind kind) {
  *s = (struct out_stream){.kind = kind, .src = -1, .fifo = -1};
}

void in_stream_init(struct in_stream *s) {
  *s = (struct in_stream){.fifo = -1, .dst = -1};
}

static int make_pipe(int fds[2], char *err, size_t errlen) {
  if (pipe2(fds, O_CLOEXEC) < 0)
    return fail(err, errlen, "pipe: %s", strerror(errno));
  pipe_grow(fds[0]);
  return 0;
}

int stdio_pipes(struct out_stream out[2], struct in_stream *in, struct runtime_stdio *rt, bool terminal,
                bool keep_stdin, char *err, size_t errlen) {
  *rt = (struct runtime_stdio){{-1, -1, -1}};
  int fds[2];
  if (keep_stdin && !terminal) {
    if (make_pipe(fds, err, errlen) < 0)
      return -1;
    rt->fd[0] = fds[0];
    in->dst = fds[1];
    if (set_nonblock(in->dst) < 0)
      return fail(err, errlen, "stdin pipe: %s", strerror(errno));
  } else {
    rt->fd[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (rt->fd[0] < 0)
      return fail(err, errlen, "/dev/null: %s", strerror(errno));
  }
  for (int k = 0; k < (terminal ? 1 : 2); k++) {
    if (make_pipe(fds, err, errlen) < 0)
      return -1;
    out[k].src = fds[0];
    rt->fd[1 + k] = fds[1];
    if (set_nonblock(out[k].src) < 0)
      return fail(err, errlen, "output pipe: %s", strerror(errno));
  }
  if (terminal) {
    rt->fd[2] = dup(rt->fd[1]);
    if (rt->fd[2] < 0)
      return fail(err, errlen, "dup: %s", strerror(errno));
  }
  return 0;
}

void runtime_stdio_close(struct runtime_stdio *rt) {
  for (int i = 0; i < 3; i++)
    close_fd(&rt->fd[i]);
}

static void detach_reader(struct out_stream *s) {
  if (s->dropped > 0)
    diag("%s reader was too slow: %llu bytes were not sent to it", out_fifo_names[s->kind], s->dropped);
  close_fd(&s->fifo);
  free(s->pending);
  s->pending = NULL;
  s->pending_len = s->pending_cap = 0;
  s->dropped = 0;
}

/* Writes to the attached reader; returns how much it took, or -1 when it left. */
static ssize_t fifo_write(struct out_stream *s, const char *data, size_t len) {
  ssize_t n;
  do
    n = write(s->fifo, data, len);
  while (n < 0 && errno == EINTR);
  if (n >= 0)
    return n;
  if (errno == EAGAIN)
    return 0;
  if (errno != EPIPE)
    diag("writing %s FIFO: %s", out_fifo_names[s->kind], strerror(errno));
  detach_reader(s);
  return -1;
}

static void keep_pending(struct out_stream *s, const char *data, size_t len) {
  size_t room = PENDING_MAX - s->pending_len;
  if (len > room) {
    if (s->dropped == 0)
      diag("%s reader is too slow: dropping its output beyond 1 MiB", out_fifo_names[s->kind]);
    s->dropped += len - room;
    len = room;
  }
  if (len == 0)
    return;
  if (s->pending_len + len > s->pending_cap) {
    size_t cap = s->pending_cap ? s->pending_cap : 64 * 1024;
    while (cap < s->pending_len + len)
      cap *= 2;
    if (cap > PENDING_MAX)
      cap = PENDING_MAX;
    char *p = realloc(s->pending, cap);
    if (!p) {
      diag("out of memory for pending %s output: dropping %zu bytes", out_fifo_names[s->kind], len);
      s->dropped += len;
      return;
    }
    s->pending = p;
    s->pending_cap = cap;
  }
  memcpy(s->pending + s->pending_len, data, len);
  s->pending_len += len;
}

static void offer_to_reader(struct out_stream *s, int dirfd, const char *data, size_t len) {
  if (s->fifo < 0) {
    s->fifo = openat(dirfd, out_fifo_names[s->kind], O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (s->fifo < 0) {
      /* ENXIO: nobody is reading. */
      if (errno != ENXIO)
        diag("opening %s FIFO: %s", out_fifo_names[s->kind], strerror(errno));
      return;
    }
    pipe_grow(s->fifo);
  }
  if (s->pending_len == 0) {
    ssize_t n = fifo_write(s, data, len);
    if (n < 0)
      return;
    data += n;
    len -= (size_t)n;
  }
  keep_pending(s, data, len);
}

void out_stream_flush(struct out_stream *s) {
  if (s->fifo < 0 || s->pending_len == 0)
    return;
  ssize_t n = fifo_write(s, s->pending, s->pending_len);
  if (n <= 0)
    return;
  s->pending_len -= (size_t)n;
  memmove(s->pending, s->pending + n, s->pending_len);
  if (s->pending_len == 0) {
    /* Give the memory back: most of a shim's life has no slow reader. */
    free(s->pending);
    s->pending = NULL;
    s->pending_cap = 0;
    if (s->dropped > 0) {
      diag("%s reader caught up; %llu bytes were not sent to it", out_fifo_names[s->kind], s->dropped);
      s->dropped = 0;
    }
  }
}

bool out_stream_pump(struct out_stream *s, struct log_sink *sink, int dirfd, char *buf, size_t size) {
  /* A few reads per wake-up, so one busy stream cannot starve the others. */
  for (int i = 0; i < 8; i++) {
    ssize_t n = read_retry(s->src, buf, size);
    if (n > 0) {
      log_sink_write(sink, s->kind, buf, (size_t)n);
      offer_to_reader(s, dirfd, buf, (size_t)n);
      if ((size_t)n < size)
        return true;
      continue;
    }
    if (n < 0 && errno == EAGAIN)
      return true;
    /* EIO from a pty master: the terminal's last user closed it, which is its EOF. */
    if (n < 0 && errno != EIO)
      diag("reading container %s: %s", out_fifo_names[s->kind], strerror(errno));
    close_fd(&s->src);
    return false;
  }
  return true;
}

void out_stream_close(struct out_stream *s) {
  close_fd(&s->src);
  detach_reader(s);
}

static void close_input(struct in_stream *s) {
  if (s->terminal) {
    /* The pty stays open for output: end the input the way a keyboard does. */
    struct termios t;
    if (tcgetattr(s->dst, &t) < 0)
      diag("closestdin: tcgetattr: %s", strerror(errno));
    else if (write(s->dst, &t.c_cc[VEOF], 1) != 1)
      diag("closestdin: writing VEOF: %s", strerror(errno));
  }
  in_stream_close(s);
}

/* Writes pending input; returns true when all of it went, false when the process's side is full or gone. */
static bool flush_input(struct in_stream *s) {
  while (s->pending_off < s->pending_len) {
    ssize_t n = write(s->dst, s->pending + s->pending_off, s->pending_len - s->pending_off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN)
        return false;
      /* EPIPE: the process closed its stdin; EIO: the terminal is gone. */
      if (errno != EPIPE && errno != EIO)
        diag("writing container stdin: %s", strerror(errno));
      in_stream_close(s);
      return false;
    }
    s->pending_off += (size_t)n;
  }
  free(s->pending);
  s->pending = NULL;
  s->pending_len = s->pending_off = 0;
  return true;
}

/* Reads one chunk from the stdin FIFO into pending; returns its size, 0 when the FIFO is empty, -1 on error.
 */
static ssize_t read_input(struct in_stream *s) {
  s->pending = malloc(STDIN_CHUNK);
  if (!s->pending) {
    diag("out of memory for stdin; input waits");
    return 0;
  }
  ssize_t n = read_retry(s->fifo, s->pending, STDIN_CHUNK);
  if (n > 0) {
    s->pending_len = (size_t)n;
    s->pending_off = 0;
    return n;
  }
  free(s->pending);
  s->pending = NULL;
  /* The FIFO is open read-write, so it has no EOF: only EAGAIN or a real error lands here. */
  if (n < 0 && errno != EAGAIN) {
    diag("reading stdin FIFO: %s", strerror(errno));
    return -1;
  }
  return 0;
}

void in_stream_pump(struct in_stream *s) {
  /* Bounded unless closing, so that a chatty client cannot starve the loop; closing drains everything
   * already in the FIFO first, so input written before closestdin is never lost. */
  for (int chunks = 0; s->dst >= 0 && (s->close_requested || chunks < 8); chunks++) {
    if (!flush_input(s))
      return;
    ssize_t n = s->fifo >= 0 ? read_input(s) : 0;
    if (n < 0) {
      in_stream_close(s);
      return;
    }
    if (n == 0) {
      if (s->close_requested)
        close_input(s);
      return;
    }
  }
}

void in_stream_close_request(struct in_stream *s) {
  s->close_requested = true;
  in_stream_pump(s);
}

void in_stream_close(struct in_stream *s) {
  close_fd(&s->fifo);
  close_fd(&s->dst);
  free(s->pending);
  s->pending = NULL;
  s->pending_len = s->pending_off = 0;
}
