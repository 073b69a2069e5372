/* fuzz_support: small helpers shared by the libFuzzer harnesses of
 * tests/fuzz (header-only: each harness is one file and one binary).
 *
 * A harness checks more than "does not crash": where the code makes a
 * promise (a valid mobile is 10 digits, a parsed row never holds more cells
 * than the limit...), it asserts it with FUZZ_CHECK, which aborts so that
 * libFuzzer keeps the input. */
#ifndef PV_FUZZ_SUPPORT_H
#define PV_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/log.h"

#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: broken promise: %s\n",       \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* No log lines while fuzzing: they would drown libFuzzer's own output. */
static inline void fuzz_quiet(void)
{
	log_set_level(LOG_ERROR + 1);
}

/* An anonymous in-memory file holding data, and its /proc path for
 * functions that take a path (the readers open files by name, as the
 * upload workers do). Returns the descriptor (the caller closes it) or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t n, char *path,
			       size_t cap)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

/* A NUL-terminated copy of data (malloc'd: the caller frees), or NULL. */
static inline char *fuzz_cstr(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Splits data at the first occurrence of the byte sep: *a is the part
 * before, *b the part after (both may be empty). Returns 0 when sep is
 * absent (then *a is everything). */
static inline int fuzz_split(const uint8_t *data, size_t n, uint8_t sep,
			     const uint8_t **a, size_t *an, const uint8_t **b,
			     size_t *bn)
{
	const uint8_t *p = memchr(data, sep, n);

	*a = data;
	if (!p) {
		*an = n;
		*b = data + n;
		*bn = 0;
		return 0;
	}
	*an = (size_t)(p - data);
	*b = p + 1;
	*bn = n - *an - 1;
	return 1;
}

#endif
