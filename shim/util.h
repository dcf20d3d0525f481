/* util.h: cleanup helpers, checked and EINTR-safe I/O, small file helpers. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define SHIM_EXIT_OK 0
#define SHIM_EXIT_FAILED 1
#define SHIM_EXIT_USAGE 2

/* Room for one error message handed from a failing step to whoever reports it. */
#define ERR_MAX 1024

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Closes every fd above stderr that the starter let the shim inherit. The shim lives as long as the
 * container, so an inherited fd lives that long too: berthd's D-Bus socket (a native module creates it
 * without O_CLOEXEC) held by a shim keeps berthd's bus name owned after berthd dies. */
void close_inherited_fds(void);

void freep(void *p);
void closep(int *fd);
/* Closes *fd when it is open and sets it to -1; a failing close is logged. */
void close_fd(int *fd);

/* Shim diagnostics: one line each, to shim.log once diag_open() has run, to stderr before. */
int diag_open(int dirfd);
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_close(void);

/* snprintf into err (size ERR_MAX or errlen) and return -1, so a failing step reads `return fail(...)`. */
int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

ssize_t read_retry(int fd, void *buf, size_t len);
/* Writes everything, retrying on EINTR and partial writes; returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
int writev_all(int fd, struct iovec *iov, int iovcnt);

/* Reads a small file (at most size-1 bytes), NUL-terminated; returns its length or -errno. */
ssize_t read_file_at(int dirfd, const char *name, char *buf, size_t size);
/* Writes name via name.tmp + rename in dirfd; returns 0 or -errno. */
int write_file_atomic(int dirfd, const char *name, const char *data, size_t len);

int parse_uint(const char *s, unsigned long long max, unsigned long long *out);
char *path_join(const char *dir, const char *name);
/* An absolute version of path (relative ones are taken from the working directory); malloc'd. */
char *absolute_path(const char *path);

int set_nonblock(int fd);
/* Grows a pipe or FIFO toward /proc/sys/fs/pipe-max-size; failures are logged, not fatal. */
void pipe_grow(int fd);

uint64_t now_realtime_us(void);
uint64_t now_monotonic_ms(void);
/* RFC 3339 with nanoseconds, UTC: 2024-01-02T03:04:05.123456789Z; returns the length. */
size_t format_rfc3339nano(char *buf, size_t size);
