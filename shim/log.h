/* log.h: the container's log sink: a CRI-format file, the journal (native protocol), or nothing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

enum stream_kind { STREAM_STDOUT, STREAM_STDERR };

struct log_sink {
  enum log_driver driver;
  int fd; /* the log file, or the journal's datagram socket */
  const char *socket_path;
  char *journal_fields[2]; /* per stream: "PRIORITY=N\nCONTAINER_ID=...\n...MESSAGE=" */
  size_t journal_fields_len[2];
  unsigned long long dropped;  /* entries the journal did not take */
  uint64_t congested_until_ms; /* monotonic: until then, journal entries do not wait for room */
};

/* Opens the sink named by cfg; on failure err says why. */
int log_sink_open(struct log_sink *sink, const struct shim_config *cfg, char *err, size_t errlen);
/* Records one chunk of output: every complete line, and a trailing partial line as partial. */
void log_sink_write(struct log_sink *sink, enum stream_kind kind, const char *data, size_t len);
void log_sink_close(struct log_sink *sink);
