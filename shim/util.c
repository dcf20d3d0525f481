/* util.c: see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int diag_fd = -1;

void freep(void *p) {
  free(*(void **)p);
}

void closep(int *fd) {
  close_fd(fd);
}

void close_fd(int *fd) {
  if (*fd < 0)
    return;
  /* Linux releases the descriptor even when close reports an error, so never retry. */
  if (close(*fd) < 0 && errno != EINTR)
    diag("close(%d): %s", *fd, strerror(errno));
  *fd = -1;
}

int diag_open(int dirfd) {
  diag_fd = openat(dirfd, "shim.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  return diag_fd < 0 ? -errno : 0;
}

void diag_close(void) {
  if (diag_fd >= 0)
    close(diag_fd);
  diag_fd = -1;
}

void diag(const char *fmt, ...) {
  char line[1024];
  size_t n = format_rfc3339nano(line, sizeof(line));
  int m = snprintf(line + n, sizeof(line) - n, " berth-shim[%d]: ", (int)getpid());
  if (m > 0)
    n += (size_t)m;
  va_list ap;
  va_start(ap, fmt);
  m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  va_end(ap);
  if (m > 0)
    n += (size_t)m;
  if (n > sizeof(line) - 2)
    n = sizeof(line) - 2;
  line[n++] = '\n';
  /* Nowhere left to report a failing diagnostics write. */
  (void)write_all(diag_fd >= 0 ? diag_fd : STDERR_FILENO, line, n);
}

int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

ssize_t read_retry(int fd, void *buf, size_t len) {
  ssize_t n;
  do
    n = read(fd, buf, len);
  while (n < 0 && errno == EINTR);
  return n;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int writev_all(int fd, struct iovec *iov, int iovcnt) {
  while (iovcnt > 0) {
    ssize_t n = writev(fd, iov, iovcnt);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
      n -= (ssize_t)iov->iov_len;
      iov++;
      iovcnt--;
    }
    if (iovcnt > 0) {
      iov->iov_base = (char *)iov->iov_base + n;
      iov->iov_len -= (size_t)n;
    }
  }
  return 0;
}

ssize_t read_file_at(int dirfd, const char *name, char *buf, size_t size) {
  _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t len = 0;
  while (len < size - 1) {
    ssize_t n = read_retry(fd, buf + len, size - 1 - len);
    if (n < 0)
      return -errno;
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return (ssize_t)len;
}

int write_file_atomic(int dirfd, const char *name, const char *data, size_t len) {
  char tmp[256];
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp))
    return -ENAMETOOLONG;
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  int r = write_all(fd, data, len);
  if (close(fd) < 0 && r == 0 && errno != EINTR)
    r = -errno;
  if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
    r = -errno;
  if (r < 0)
    unlinkat(dirfd, tmp, 0);
  return r;
}

int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  if (*s < '0' || *s > '9')
    return -EINVAL;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || (*end != '\0' && *end != '\n') || v > max)
    return -EINVAL;
  *out = v;
  return 0;
}

char *path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p)
    return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

char *absolute_path(const char *path) {
  if (path[0] == '/')
    return strdup(path);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)))
    return NULL;
  return path_join(cwd, path);
}

int set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0)
    return -errno;
  return fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -errno : 0;
}

void pipe_grow(int fd) {
  static int max_size;
  if (max_size == 0) {
    char buf[32];
    unsigned long long v;
    max_size = -1;
    if (read_file_at(AT_FDCWD, "/proc/sys/fs/pipe-max-size", buf, sizeof(buf)) > 0 &&
        parse_uint(buf, INT_MAX, &v) == 0)
      max_size = (int)v;
    else
      diag("cannot read /proc/sys/fs/pipe-max-size; pipes keep their default size");
  }
  if (max_size > 0 && fcntl(fd, F_SETPIPE_SZ, max_size) < 0)
    diag("F_SETPIPE_SZ %d on fd %d: %s", max_size, fd, strerror(errno));
}

uint64_t now_realtime_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

size_t format_rfc3339nano(char *buf, size_t size) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
  int m = snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
  return m > 0 ? n + (size_t)m : n;
}

void close_inherited_fds(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
    return;
#endif
  /* Kernels before 5.9: walk /proc/self/fd, collecting first so closing does not disturb the walk,
   * and walk again until a pass finds nothing (a pass collects at most ARRAY_SIZE(fds)). */
  for (;;) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) {
      diag("closing inherited fds: /proc/self/fd: %s", strerror(errno));
      return;
    }
    int self = dirfd(dir);
    int fds[256];
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < ARRAY_SIZE(fds)) {
      unsigned long long fd;
      if (parse_uint(entry->d_name, INT_MAX, &fd) == 0 && fd > 2 && (int)fd != self)
        fds[count++] = (int)fd;
    }
    closedir(dir);
    if (count == 0)
      return;
    for (size_t i = 0; i < count; i++)
      close(fds[i]);
  }
}
