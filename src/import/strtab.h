/* strtab: an append-only table of byte strings looked up by index, for the
 * shared strings of an XLSX workbook (xlsx_reader.c). Internal to
 * src/import/.
 *
 * The table lives in memory while its text plus 4 bytes a string fit in
 * the budget given to strtab_new(); past it, text and offsets move to two
 * unlinked temporary files (nothing is left behind, whatever happens to
 * the process) and are read back with pread through a small page cache,
 * so that memory stays fixed however many strings the table holds: a
 * workbook of a million rows of unique names and addresses has four
 * million of them, about 100 MB with their offsets.
 *
 * Strings are written first (strtab_add), then the table is sealed and
 * read (strtab_get). Lookups in index order, as a sheet that follows its
 * strings table makes them, read each page of the files once. */
#ifndef PV_IMPORT_STRTAB_H
#define PV_IMPORT_STRTAB_H

#include <stddef.h>

typedef struct strtab strtab;

/* An empty table holding up to mem_budget bytes in memory (0: none, it
 * spills at the first string), spilling into tmp_dir beyond (NULL:
 * $TMPDIR, else /tmp; the string is borrowed until the last strtab_add).
 * *out is released by strtab_free(). PV_OK or PV_ENOMEM. After a failure
 * of strtab_add or strtab_seal the table can only be freed. */
int strtab_new(size_t mem_budget, const char *tmp_dir, strtab **out);

/* Appends a copy of s[0..n) as string number strtab_count(). PV_OK,
 * PV_ENOMEM, PV_EIO (the temporary file could not be made or written;
 * strtab_errno() tells why) or PV_ELIMIT (4 GiB of text). */
int strtab_add(strtab *t, const void *s, size_t n);

/* Ends the writing (flushes what is buffered); the table can then be
 * read. PV_OK or PV_EIO. */
int strtab_seal(strtab *t);

size_t strtab_count(const strtab *t);

/* 1 once the table has moved to its temporary files. */
int strtab_spilled(const strtab *t);

/* The errno of the last PV_EIO. */
int strtab_errno(const strtab *t);

/* String i (below strtab_count(), table sealed): *p points into the table
 * or its cache and stays valid until the next call on t. PV_OK, PV_EINVAL
 * (no such string, or not sealed), PV_EIO or PV_ENOMEM. */
int strtab_get(strtab *t, size_t i, const char **p, size_t *n);

void strtab_free(strtab *t); /* accepts NULL; closes the temporary files */

#endif
