/* bulk_gen: writes the files of bench/bulk.sh.
 *   gen upload N out.csv out.xlsx   N clean upload rows, the same rows in
 *                                   both formats (XLSX with numeric mobile
 *                                   cells, as Excel stores typed numbers)
 *   gen users N out.csv ORG         N other users, in the columns of the
 *                                   users table (for sqlite3 .import)
 * Rows are a deterministic permutation, so e-mails and mobiles arrive in
 * no particular order (as they would from a real file) and never collide
 * between the two sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

static void name_of(long i, const char *prefix, char *out, size_t cap)
{
	char s[16];
	int n = 0;

	do {
		s[n++] = (char)('a' + i % 26);
		i /= 26;
	} while (i && n < 15);
	s[n] = '\0';
	snprintf(out, cap, "%s%s", prefix, s);
}

static long perm(long i)
{
	return (i * 7919L + 12345L) % 1000000000L;
}

static int upload(long n, const char *csv, const char *xlsx)
{
	FILE *f = fopen(csv, "w");
	lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
	lxw_workbook *wb = workbook_new_opt(xlsx, &opt);
	lxw_worksheet *ws;
	char first[32], last[32], email[64];

	if (!f || !wb)
		return 1;
	ws = workbook_add_worksheet(wb, "Employees");
	fprintf(f, "First Name,Last Name,Email Id,Mobile Number\n");
	worksheet_write_string(ws, 0, 0, "First Name", NULL);
	worksheet_write_string(ws, 0, 1, "Last Name", NULL);
	worksheet_write_string(ws, 0, 2, "Email Id", NULL);
	worksheet_write_string(ws, 0, 3, "Mobile Number", NULL);
	for (long i = 0; i < n; i++) {
		long p = perm(i);
		long mobile = 7000000000L + p;

		name_of(i, "Asha", first, sizeof first);
		name_of(p, "Verma", last, sizeof last);
		snprintf(email, sizeof email, "u%lx@mail.example.in", p);
		fprintf(f, "%s,%s,%s,%ld\n", first, last, email, mobile);
		worksheet_write_string(ws, (lxw_row_t)(i + 1), 0, first, NULL);
		worksheet_write_string(ws, (lxw_row_t)(i + 1), 1, last, NULL);
		worksheet_write_string(ws, (lxw_row_t)(i + 1), 2, email, NULL);
		worksheet_write_number(ws, (lxw_row_t)(i + 1), 3, (double)mobile, NULL);
	}
	return fclose(f) != 0 || workbook_close(wb) != LXW_NO_ERROR;
}

static int users(long n, const char *csv, const char *org)
{
	FILE *f = fopen(csv, "w");
	char first[32];

	if (!f)
		return 1;
	for (long i = 0; i < n; i++) {
		long p = perm(i);

		name_of(i, "Old", first, sizeof first);
		fprintf(f, "00000000-0000-4000-8000-%012lx,%s,User,old%lx@example.com,0,%ld,%s,,active,self,1,1\n",
			i, first, p, 9000000000L + p, org);
	}
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "upload") == 0)
		return upload(atol(argv[2]), argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "users") == 0)
		return users(atol(argv[2]), argv[3], argv[4]);
	fprintf(stderr, "usage: gen upload N out.csv out.xlsx | gen users N out.csv ORG\n");
	return 2;
}
