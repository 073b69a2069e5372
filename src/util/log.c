#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/util.h"

static int log_level = LOG_INFO;
static __thread char log_rid[64];

static const char *const log_words[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *word)
{
	for (int i = 0; i < 4; i++)
		if (word && strcmp(word, log_words[i]) == 0)
			return i;
	return -1;
}

void log_set_level(int level)
{
	log_level = level;
}

int log_enabled(int level)
{
	return level >= log_level;
}

void log_set_request_id(const char *rid)
{
	util_strlcpy(log_rid, rid ? rid : "", sizeof log_rid);
}


void log_kv(int level, const char *msg, ...)
{
	char ts[32];
	buf b;
	va_list ap;
	const char *k;

	if (!log_enabled(level))
		return;
	buf_init(&b, 16384);
	util_rfc3339(util_now_ms(), ts);
	buf_addf(&b, "{\"ts\":\"%s\",\"level\":\"%s\"", ts,
		 log_words[level < 0 || level > 3 ? 3 : level]);
	if (log_rid[0]) {
		buf_adds(&b, ",\"request_id\":\"");
		buf_add_json_str(&b, log_rid, strlen(log_rid));
		buf_adds(&b, "\"");
	}
	buf_adds(&b, ",\"msg\":\"");
	buf_add_json_str(&b, msg, strlen(msg));
	buf_adds(&b, "\"");
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		if (!v)
			v = "";
		buf_adds(&b, ",\"");
		buf_add_json_str(&b, k, strlen(k));
		buf_adds(&b, "\":\"");
		buf_add_json_str(&b, v, strlen(v));
		buf_adds(&b, "\"");
	}
	va_end(ap);
	buf_adds(&b, "}\n");
	if (buf_error(&b) == PV_OK)
		fputs(b.p, stderr); /* one write per line: lines do not interleave */
	else /* too long (or no memory): say so rather than lose the line */
		fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"error\",\"msg\":\"a log line was too long\"}\n",
			ts);
	buf_free(&b);
}
