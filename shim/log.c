/* log.c: log sinks. Lines are written as they arrive; a read that ends mid-line is written as a
 * partial entry ("P" in the CRI format) instead of being buffered, so the shim holds no line state. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
/* Lines per writev to the log file: 4 iovecs each. */
#define FILE_LINES_PER_WRITE 64
/* How long one journal entry may wait for room in the journal's queue before it is dropped... */
#define JOURNAL_SEND_TIMEOUT_MS 200
/* ...and, after such a wait, how long entries are sent without waiting (dropped when there is no room),
 * so that a stuck journal costs one wait per second, not one per line. */
#define JOURNAL_CONGESTED_MS 1000

static const char *const stream_names[] = {"stdout", "stderr"};

static int journal_connect(struct log_sink *sink) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(sink->socket_path) >= sizeof(addr.sun_path))
    return -ENAMETOOLONG;
  strcpy(addr.sun_path, sink->socket_path);
  return connect(sink->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
}

static int journal_open(struct log_sink *sink, const struct shim_config *cfg, char *err, size_t errlen) {
  sink->socket_path = getenv("BERTH_JOURNAL_SOCKET");
  if (!sink->socket_path || !*sink->socket_path)
    sink->socket_path = JOURNAL_SOCKET;
  sink->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sink->fd < 0)
    return fail(err, errlen, "journald log driver: socket: %s", strerror(errno));
  struct timeval timeout = {.tv_usec = JOURNAL_SEND_TIMEOUT_MS * 1000};
  if (setsockopt(sink->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0)
    return fail(err, errlen, "journald log driver: SO_SNDTIMEO: %s", strerror(errno));
  /* Not fatal: the journal may come (back) later; each entry tries to connect again until then. */
  int r = journal_connect(sink);
  if (r < 0)
    diag("journald log driver: cannot connect to %s yet: %s", sink->socket_path, strerror(-r));
  static const int priorities[] = {6, 3};
  for (int k = 0; k < 2; k++) {
    int n = asprintf(&sink->journal_fields[k],
                     "PRIORITY=%d\nCONTAINER_ID=%s\nCONTAINER_NAME=%s\nSYSLOG_IDENTIFIER=%s\nMESSAGE=",
                     priorities[k], cfg->id, cfg->name, cfg->name);
    if (n < 0) {
      sink->journal_fields[k] = NULL;
      return fail(err, errlen, "out of memory");
    }
    sink->journal_fields_len[k] = (size_t)n;
  }
  return 0;
}

int log_sink_open(struct log_sink *sink, const struct shim_config *cfg, char *err, size_t errlen) {
  *sink = (struct log_sink){.driver = cfg->log_driver, .fd = -1};
  switch (cfg->log_driver) {
  case LOG_DRIVER_FILE:
    sink->fd = open(cfg->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (sink->fd < 0)
      return fail(err, errlen, "cannot open log file %s: %s", cfg->log_path, strerror(errno));
    return 0;
  case LOG_DRIVER_JOURNALD:
    return journal_open(sink, cfg, err, errlen);
  case LOG_DRIVER_NONE:
    return 0;
  }
  return fail(err, errlen, "unknown log driver");
}

static void file_write(struct log_sink *sink, enum stream_kind kind, const char *data, size_t len) {
  char prefix[64];
  size_t n = format_rfc3339nano(prefix, sizeof(prefix) - 16);
  int m = snprintf(prefix + n, sizeof(prefix) - n, " %s ", stream_names[kind]);
  size_t prefix_len = n + (size_t)m;
  struct iovec iov[FILE_LINES_PER_WRITE * 4];
  int iovcnt = 0;
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t line = nl ? (size_t)(nl - data) : len;
    iov[iovcnt++] = (struct iovec){prefix, prefix_len};
    iov[iovcnt++] = (struct iovec){(void *)(nl ? "F " : "P "), 2};
    iov[iovcnt++] = (struct iovec){(void *)data, line};
    iov[iovcnt++] = (struct iovec){(void *)"\n", 1};
    size_t used = nl ? line + 1 : line;
    data += used;
    len -= used;
    if (iovcnt == (int)ARRAY_SIZE(iov) || len == 0) {
      int r = writev_all(sink->fd, iov, iovcnt);
      if (r < 0) {
        if (sink->dropped++ == 0)
          diag("writing the log file failed: %s; output is being lost", strerror(-r));
      }
      iovcnt = 0;
    }
  }
}

static void journal_send(struct log_sink *sink, enum stream_kind kind, const char *line, size_t len,
                         bool partial) {
  /* As Docker's journald driver: a line that ends mid-read says so, for readers that join them. */
  static const char partial_field[] = "CONTAINER_PARTIAL_MESSAGE=true\n";
  struct iovec iov[4] = {
      {(void *)partial_field, partial ? sizeof(partial_field) - 1 : 0},
      {sink->journal_fields[kind], sink->journal_fields_len[kind]},
      {(void *)line, len},
      {(void *)"\n", 1},
  };
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 4};
  bool congested = now_monotonic_ms() < sink->congested_until_ms;
  for (int attempt = 0; attempt < 2; attempt++) {
    if (sendmsg(sink->fd, &msg, MSG_NOSIGNAL | (congested ? MSG_DONTWAIT : 0)) >= 0)
      return;
    int e = errno;
    if (e == EINTR)
      continue;
    if (e == EAGAIN && !congested)
      sink->congested_until_ms = now_monotonic_ms() + JOURNAL_CONGESTED_MS;
    /* journald restarted: its socket is a new one, connect again once. */
    if ((e == ECONNREFUSED || e == ENOTCONN || e == EDESTADDRREQ) && attempt == 0 &&
        journal_connect(sink) == 0)
      continue;
    if (sink->dropped++ == 0 || e != EAGAIN)
      diag("journal did not take an entry (%s); %llu dropped so far", strerror(e), sink->dropped);
    return;
  }
}

static void journal_write(struct log_sink *sink, enum stream_kind kind, const char *data, size_t len) {
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t line = nl ? (size_t)(nl - data) : len;
    journal_send(sink, kind, data, line, !nl);
    size_t used = nl ? line + 1 : line;
    data += used;
    len -= used;
  }
}

void log_sink_write(struct log_sink *sink, enum stream_kind kind, const char *data, size_t len) {
  switch (sink->driver) {
  case LOG_DRIVER_FILE:
    file_write(sink, kind, data, len);
    break;
  case LOG_DRIVER_JOURNALD:
    journal_write(sink, kind, data, len);
    break;
  case LOG_DRIVER_NONE:
    break;
  }
}

void log_sink_close(struct log_sink *sink) {
  if (sink->dropped > 0)
    diag("log sink dropped %llu writes in all", sink->dropped);
  close_fd(&sink->fd);
  for (int k = 0; k < 2; k++) {
    free(sink->journal_fields[k]);
    sink->journal_fields[k] = NULL;
  }
}
