/* strtab: the string table of strtab.h.
 *
 * Two streams: TEXT, the strings' bytes one after the other, and ENDS, the
 * end offset of every string in TEXT as a 32-bit word (string i is
 * TEXT[ENDS[i-1] .. ENDS[i]), ENDS[-1] being 0). While the table is in
 * memory each stream is one malloc'd block. Once the budget is reached
 * each stream goes to its own unlinked temporary file, written through a
 * WBUF-sized buffer; after strtab_seal() both are read through one cache
 * of SLOTS pages of PAGE bytes, direct-mapped by a hash of (stream, page).
 * A string within one page is returned as a pointer into the cache, one
 * that spans pages is copied into a scratch buffer. Memory once spilled:
 * the cache (1 MiB) and the largest string that spanned pages. */
#include "import/strtab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"

#define PAGE 4096u
#define SLOT_BITS 8
#define SLOTS (1u << SLOT_BITS)
#define WBUF (64 * 1024)

enum { TEXT = 0, ENDS = 1 };

typedef struct stream {
	int fd;        /* -1 while in memory */
	char *mem;     /* in memory: every byte; spilled: the write buffer
			* until sealed, then NULL */
	size_t len;    /* bytes in mem */
	size_t cap;    /* bytes allocated in mem */
	uint64_t size; /* bytes of the stream, in the file and in mem */
} stream;

typedef struct slot {
	uint64_t key; /* (page << 1 | stream) + 1; 0: empty */
	size_t len;   /* bytes of the page that exist */
} slot;

struct strtab {
	stream s[2];
	size_t n;           /* strings */
	size_t budget;      /* bytes of both streams while in memory */
	const char *tmp_dir;
	int spilled, sealed;
	int err;            /* errno of the last PV_EIO */
	slot slots[SLOTS];
	char *pages;        /* SLOTS * PAGE, allocated at the first lookup */
	char *scratch;      /* a string spanning pages */
	size_t scratch_cap;
};

int strtab_new(size_t mem_budget, const char *tmp_dir, strtab **out)
{
	strtab *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return PV_ENOMEM;
	t->s[TEXT].fd = t->s[ENDS].fd = -1;
	t->budget = mem_budget;
	t->tmp_dir = tmp_dir;
	*out = t;
	return PV_OK;
}

static int io_fail(strtab *t)
{
	t->err = errno ? errno : EIO;
	return PV_EIO;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* An unlinked file in the temporary folder, or -1 with errno. */
static int tmp_file(const strtab *t)
{
	const char *dir = t->tmp_dir;
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* A file system without O_TMPFILE: a named file, unlinked at once. */
	if ((size_t)snprintf(path, sizeof(path), "%s/.pravesh-strings-XXXXXX", dir) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Moves both streams to their files; mem becomes the write buffer. */
static int spill(strtab *t)
{
	int i;

	for (i = 0; i < 2; i++) {
		stream *s = &t->s[i];
		char *wb;

		s->fd = tmp_file(t);
		if (s->fd < 0 || write_all(s->fd, s->mem, s->len) != 0)
			return io_fail(t);
		wb = malloc(WBUF);
		if (!wb)
			return PV_ENOMEM;
		free(s->mem);
		s->mem = wb;
		s->cap = WBUF;
		s->len = 0;
	}
	t->spilled = 1;
	return PV_OK;
}

static int flush(strtab *t, stream *s)
{
	if (s->len && write_all(s->fd, s->mem, s->len) != 0)
		return io_fail(t);
	s->len = 0;
	return PV_OK;
}

static int put(strtab *t, stream *s, const void *p, size_t n)
{
	if (s->fd >= 0) {
		if (s->len + n > s->cap) {
			int rc = flush(t, s);

			if (rc)
				return rc;
		}
		if (n >= s->cap) {
			if (write_all(s->fd, p, n) != 0)
				return io_fail(t);
		} else {
			memcpy(s->mem + s->len, p, n);
			s->len += n;
		}
		s->size += n;
		return PV_OK;
	}
	if (s->len + n > s->cap) {
		/* Doubling, but never much past the budget: the caller spills
		 * before the two streams together pass it. */
		size_t need = s->len + n, ncap = s->cap ? s->cap * 2 : 4096;
		char *np;

		if (ncap > t->budget)
			ncap = t->budget;
		if (ncap < need)
			ncap = need;
		np = realloc(s->mem, ncap);
		if (!np)
			return PV_ENOMEM;
		s->mem = np;
		s->cap = ncap;
	}
	if (n)
		memcpy(s->mem + s->len, p, n);
	s->len += n;
	s->size += n;
	return PV_OK;
}

int strtab_add(strtab *t, const void *s, size_t n)
{
	uint32_t end;
	int rc;

	if (t->sealed)
		return PV_EINVAL;
	if (n > UINT32_MAX - t->s[TEXT].size)
		return PV_ELIMIT;
	end = (uint32_t)(t->s[TEXT].size + n);
	if (!t->spilled && (t->s[TEXT].len + n > t->budget ||
			    t->s[ENDS].len + sizeof(end) > t->budget - t->s[TEXT].len - n)) {
		rc = spill(t);
		if (rc)
			return rc;
	}
	rc = put(t, &t->s[TEXT], s, n);
	if (!rc)
		rc = put(t, &t->s[ENDS], &end, sizeof(end));
	if (rc)
		return rc;
	t->n++;
	return PV_OK;
}

int strtab_seal(strtab *t)
{
	int i, rc;

	if (t->sealed)
		return PV_OK;
	if (t->spilled) {
		for (i = 0; i < 2; i++) {
			rc = flush(t, &t->s[i]);
			if (rc)
				return rc;
			free(t->s[i].mem);
			t->s[i].mem = NULL;
			t->s[i].cap = 0;
		}
	}
	t->sealed = 1;
	return PV_OK;
}

size_t strtab_count(const strtab *t)
{
	return t ? t->n : 0;
}

int strtab_spilled(const strtab *t)
{
	return t && t->spilled;
}

int strtab_errno(const strtab *t)
{
	return t ? t->err : 0;
}

/* Page `page` of stream `which` through the cache: *len bytes (fewer than
 * PAGE for the last page of a file). */
static int page_get(strtab *t, int which, uint64_t page, const char **data, size_t *len)
{
	uint64_t key = (page << 1 | (uint64_t)which) + 1;
	size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - SLOT_BITS));
	slot *sl = &t->slots[h];
	char *mem;

	if (!t->pages) {
		t->pages = malloc((size_t)SLOTS * PAGE);
		if (!t->pages)
			return PV_ENOMEM;
	}
	mem = t->pages + h * PAGE;
	if (sl->key != key) {
		size_t got = 0;

		sl->key = 0;
		while (got < PAGE) {
			ssize_t k = pread(t->s[which].fd, mem + got, PAGE - got,
					  (off_t)(page * PAGE + got));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return io_fail(t);
			if (k == 0)
				break;
			got += (size_t)k;
		}
		sl->key = key;
		sl->len = got;
	}
	*data = mem;
	*len = sl->len;
	return PV_OK;
}

/* The 32-bit word at byte off of ENDS, spilled. */
static int end_at(strtab *t, uint64_t off, uint32_t *v)
{
	const char *d;
	size_t len, in = (size_t)(off % PAGE);
	int rc = page_get(t, ENDS, off / PAGE, &d, &len);

	if (rc)
		return rc;
	if (in + sizeof(*v) > len) {
		errno = EIO; /* the file is shorter than what was written */
		return io_fail(t);
	}
	memcpy(v, d + in, sizeof(*v));
	return PV_OK;
}

/* TEXT[start .. start + n), spilled: a pointer into the cache when the
 * bytes are on one page, else a copy in the scratch buffer. */
static int text_at(strtab *t, uint64_t start, size_t n, const char **p)
{
	const char *d;
	size_t len, in = (size_t)(start % PAGE), done = 0;
	int rc;

	if (in + n <= PAGE) {
		rc = page_get(t, TEXT, start / PAGE, &d, &len);
		if (rc)
			return rc;
		if (in + n > len) {
			errno = EIO;
			return io_fail(t);
		}
		*p = d + in;
		return PV_OK;
	}
	if (n > t->scratch_cap) {
		char *ns = realloc(t->scratch, n);

		if (!ns)
			return PV_ENOMEM;
		t->scratch = ns;
		t->scratch_cap = n;
	}
	/* One page a turn: at most n / PAGE + 2 turns. */
	while (done < n) {
		uint64_t at = start + done;
		size_t k;

		in = (size_t)(at % PAGE);
		rc = page_get(t, TEXT, at / PAGE, &d, &len);
		if (rc)
			return rc;
		if (in >= len) {
			errno = EIO;
			return io_fail(t);
		}
		k = len - in < n - done ? len - in : n - done;
		memcpy(t->scratch + done, d + in, k);
		done += k;
	}
	*p = t->scratch;
	return PV_OK;
}

int strtab_get(strtab *t, size_t i, const char **p, size_t *n)
{
	uint32_t start = 0, end;
	int rc;

	if (!t->sealed || i >= t->n)
		return PV_EINVAL;
	if (!t->spilled) {
		if (i)
			memcpy(&start, t->s[ENDS].mem + (i - 1) * sizeof(end), sizeof(start));
		memcpy(&end, t->s[ENDS].mem + i * sizeof(end), sizeof(end));
		*p = end > start ? t->s[TEXT].mem + start : "";
		*n = end - start;
		return PV_OK;
	}
	if (i && (rc = end_at(t, (uint64_t)(i - 1) * sizeof(end), &start)) != PV_OK)
		return rc;
	if ((rc = end_at(t, (uint64_t)i * sizeof(end), &end)) != PV_OK)
		return rc;
	if (end < start) {
		errno = EIO;
		return io_fail(t);
	}
	*n = end - start;
	if (!*n) {
		*p = "";
		return PV_OK;
	}
	return text_at(t, start, *n, p);
}

void strtab_free(strtab *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < 2; i++) {
		if (t->s[i].fd >= 0)
			close(t->s[i].fd);
		free(t->s[i].mem);
	}
	free(t->pages);
	free(t->scratch);
	free(t);
}
