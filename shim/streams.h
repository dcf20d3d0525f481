/* streams.h: the state dir's FIFOs, the container's pipes, and relaying between them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* Output of the container towards the log sink and, while a reader is attached, the FIFO. */
struct out_stream {
  enum stream_kind kind;
  int src;       /* read end of the container's pipe or the pty master; -1 after EOF */
  int fifo;      /* write end of the stdout/stderr FIFO while a reader is attached, else -1 */
  char *pending; /* what an attached but slow reader has not taken yet (at most 1 MiB) */
  size_t pending_len;
  size_t pending_cap;
  unsigned long long dropped;
};

/* The stdin FIFO towards the container's stdin. */
struct in_stream {
  int fifo; /* the stdin FIFO (O_RDWR: clients may come and go); -1 when closed */
  int dst;  /* the container's stdin: pipe write end or the pty master; -1 when closed */
  bool terminal;
  bool close_requested; /* closestdin arrived while input was still pending */
  char *pending;
  size_t pending_len;
  size_t pending_off;
};

/* The fds the runtime gets as 0, 1 and 2 (the container's own stdio unless it has a terminal). */
struct runtime_stdio {
  int fd[3];
};

/* Creates stdin, stdout, stderr, control.fifo and exit.fifo in dirfd (none may exist). */
int fifos_create(int dirfd, char *err, size_t errlen);
void fifos_remove(int dirfd);

void out_stream_init(struct out_stream *s, enum stream_kind kind);
void in_stream_init(struct in_stream *s);
/* Non-terminal: pipes for stdout and stderr (and stdin with keep_stdin; /dev/null otherwise).
 * Terminal: /dev/null in, one pipe that only catches what the runtime itself prints. */
int stdio_pipes(struct out_stream out[2], struct in_stream *in, struct runtime_stdio *rt, bool terminal,
                bool keep_stdin, char *err, size_t errlen);
void runtime_stdio_close(struct runtime_stdio *rt);

/* Reads what is available from s->src into the sink and the FIFO; returns false at EOF. */
bool out_stream_pump(struct out_stream *s, struct log_sink *sink, int dirfd, char *buf, size_t size);
/* Writes pending output to an attached reader (called when its FIFO is writable). */
void out_stream_flush(struct out_stream *s);
void out_stream_close(struct out_stream *s);

/* Moves input from the stdin FIFO to the process (on POLLIN of the FIFO or POLLOUT of the process's side). */
void in_stream_pump(struct in_stream *s);
/* closestdin: EOF for the process (VEOF on a terminal) once the input written before it is delivered. */
void in_stream_close_request(struct in_stream *s);
void in_stream_close(struct in_stream *s);
