/* console.c: see console.h. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

/* The runtime has exited when we look, so the connection is already queued; this only covers a slow
 * runtime that hands the socket to a child. */
#define CONSOLE_WAIT_MS 5000

int console_listen(const char *state_dir, char **path, char *err, size_t errlen) {
  *path = path_join(state_dir, "console.sock");
  if (!*path)
    return fail(err, errlen, "out of memory");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(*path) >= sizeof(addr.sun_path))
    return fail(err, errlen, "console socket path %s is longer than %zu bytes", *path,
                sizeof(addr.sun_path) - 1);
  strcpy(addr.sun_path, *path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail(err, errlen, "console socket: %s", strerror(errno));
  if (unlink(*path) < 0 && errno != ENOENT) {
    int e = errno;
    close(fd);
    return fail(err, errlen, "removing stale %s: %s", *path, strerror(e));
  }
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
    int e = errno;
    close(fd);
    return fail(err, errlen, "console socket %s: %s", *path, strerror(e));
  }
  return fd;
}

int console_receive(int listen_fd, int *master, char *err, size_t errlen) {
  struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
  int r;
  do
    r = poll(&pfd, 1, CONSOLE_WAIT_MS);
  while (r < 0 && errno == EINTR);
  if (r <= 0)
    return fail(err, errlen, "the runtime did not send a terminal over the console socket");
  _cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return fail(err, errlen, "console socket accept: %s", strerror(errno));
  char name[256];
  union {
    struct cmsghdr hdr;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  struct iovec iov = {name, sizeof(name)};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
  ssize_t n;
  do
    n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return fail(err, errlen, "console socket recvmsg: %s", strerror(errno));
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
      cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
    return fail(err, errlen, "the runtime sent no terminal fd over the console socket");
  memcpy(master, CMSG_DATA(cmsg), sizeof(int));
  if (set_nonblock(*master) < 0) {
    close_fd(master);
    return fail(err, errlen, "terminal: %s", strerror(errno));
  }
  return 0;
}

int console_resize(int master, unsigned columns, unsigned rows) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)columns};
  return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}
