/* Logs: one JSON object a line on standard error. Values are strings given
 * as key/value pairs ending with NULL; they are escaped here. A log line
 * never carries a secret: callers pass no code, token or password. */
#ifndef PV_LOG_H
#define PV_LOG_H

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* "debug", "info", "warn", "error"; returns -1 for an unknown word. */
int log_level_parse(const char *word);
void log_set_level(int level);
int log_enabled(int level);

/* The request id of the calling thread, added to every line it logs;
 * NULL or "" clears it. */
void log_set_request_id(const char *rid);

/* log_kv(LOG_INFO, "upload finished", "id", id, "status", st, NULL) */
void log_kv(int level, const char *msg, ...) __attribute__((sentinel));

#endif
