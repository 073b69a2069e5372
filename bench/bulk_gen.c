/* bulk_gen: writes the files of bench/bulk.sh.
 *   gen upload N out.csv out.xlsx   N clean upload rows, the same rows in
 *                                   both formats (XLSX with inline strings,
 *                                   as libxlsxwriter's constant_memory mode
 *                                   writes them, and numeric mobile cells,
 *                                   as Excel stores typed numbers)
 *   gen upload-sst N out.xlsx number|text
 *                                   the same N rows as Excel writes them:
 *                                   every text cell an index into one
 *                                   shared-strings table that comes before
 *                                   the sheet, mobiles as numbers (typed
 *                                   into a General column) or as text (the
 *                                   template's text column: then every
 *                                   cell is a shared string, 4N + 4 of
 *                                   them, all different)
 *   gen upload-names N out.csv      the same N rows (the same e-mails and
 *                                   mobiles) with first and last names
 *                                   drawn from two lists of 20 (those of
 *                                   bench/users.sh), as in a real
 *                                   organisation where names repeat (the
 *                                   name index's easy case); the other
 *                                   files give every person a name of
 *                                   their own (a hard case)
 *   gen users N out.csv ORG         N other users, in the columns of the
 *                                   users table (for sqlite3 .import)
 * Rows are a deterministic permutation, so e-mails and mobiles arrive in
 * no particular order (as they would from a real file) and never collide
 * between the two sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>
#include <zip.h>

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

/* Upload row i's e-mail (into email) and mobile (returned): the same in
 * every upload file, whatever its names and format. */
static long contact_of(long i, char *email, size_t cap)
{
	long p = perm(i);

	snprintf(email, cap, "u%lx@mail.example.in", p);
	return 7000000000L + p;
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
		long mobile = contact_of(i, email, sizeof email);

		name_of(i, "Asha", first, sizeof first);
		name_of(p, "Verma", last, sizeof last);
		fprintf(f, "%s,%s,%s,%ld\n", first, last, email, mobile);
		worksheet_write_string(ws, (lxw_row_t)(i + 1), 0, first, NULL);
		worksheet_write_string(ws, (lxw_row_t)(i + 1), 1, last, NULL);
		worksheet_write_string(ws, (lxw_row_t)(i + 1), 2, email, NULL);
		worksheet_write_number(ws, (lxw_row_t)(i + 1), 3, (double)mobile, NULL);
	}
	return fclose(f) != 0 || workbook_close(wb) != LXW_NO_ERROR;
}

static const char *const FIRST[20] = {
	"Ram", "Sita", "Amit", "Priya", "Rahul", "Anita", "Suresh", "Kavita", "Rajesh", "Sunita",
	"Vijay", "Meena", "Arun", "Pooja", "Sanjay", "Rekha", "Anil", "Neha", "Manoj", "Asha"};
static const char *const LAST[20] = {
	"Kumar", "Sharma", "Singh", "Verma", "Gupta", "Yadav", "Patel", "Das", "Reddy", "Nair",
	"Iyer", "Joshi", "Mishra", "Khan", "Bose", "Rao", "Pillai", "Chauhan", "Mehta", "Jain"};

static int upload_names(long n, const char *csv)
{
	FILE *f = fopen(csv, "w");
	char email[64];

	if (!f)
		return 1;
	fprintf(f, "First Name,Last Name,Email Id,Mobile Number\n");
	for (long i = 0; i < n; i++) {
		long p = perm(i);
		long mobile = contact_of(i, email, sizeof email);

		fprintf(f, "%s,%s,%s,%ld\n", FIRST[p % 20], LAST[(p / 20) % 20], email, mobile);
	}
	return fclose(f) != 0;
}

/* The parts of a workbook with shared strings that are not its data. */
static const char SST_TYPES[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
	"<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
	"<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
	"<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
	"<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
	"<Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>"
	"</Types>";
static const char SST_RELS[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
	"</Relationships>";
static const char SST_WORKBOOK[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
	"xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
	"<sheets><sheet name=\"Employees\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char SST_WB_RELS[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>"
	"</Relationships>";

static int add_buffer(zip_t *za, const char *name, const char *data)
{
	zip_source_t *src = zip_source_buffer(za, data, strlen(data), 0);

	if (!src || zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) < 0) {
		zip_source_free(src);
		return 1;
	}
	return 0;
}

static int add_file(zip_t *za, const char *name, const char *path)
{
	zip_source_t *src = zip_source_file(za, path, 0, -1);

	if (!src || zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) < 0) {
		zip_source_free(src);
		return 1;
	}
	return 0;
}

/* A sheet cell: the next shared string's index (its text goes to sst). */
static void sst_cell(FILE *sheet, FILE *sst, long *next, char col, long row, const char *text)
{
	fprintf(sheet, "<c r=\"%c%ld\" t=\"s\"><v>%ld</v></c>", col, row, (*next)++);
	fprintf(sst, "<si><t>%s</t></si>", text);
}

/* The XML parts go to temporary files beside out (a million rows make
 * about 250 MB of XML), which libzip then deflates into the archive. The
 * table lists every string once, in the order of first use, as Excel
 * writes it; every string here is used once. */
static int upload_sst(long n, const char *xlsx, int text_mobiles)
{
	static const char *const head[] = {"First Name", "Last Name", "Email Id", "Mobile Number"};
	char sheet_path[4096], sst_path[4096], first[32], last[32], email[64], mobile[16];
	long strings = 4 + n * (text_mobiles ? 4 : 3), next = 0;
	FILE *sheet, *sst;
	zip_t *za = NULL;
	int err = 0, rc = 1;

	snprintf(sheet_path, sizeof sheet_path, "%s.sheet.xml", xlsx);
	snprintf(sst_path, sizeof sst_path, "%s.sst.xml", xlsx);
	sheet = fopen(sheet_path, "w");
	sst = fopen(sst_path, "w");
	if (!sheet || !sst)
		goto out;
	fprintf(sheet, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		       "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
		       "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
		       "<dimension ref=\"A1:D%ld\"/><sheetData><row r=\"1\" spans=\"1:4\">", n + 1);
	fprintf(sst, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		     "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
		     "count=\"%ld\" uniqueCount=\"%ld\">", strings, strings);
	for (int c = 0; c < 4; c++)
		sst_cell(sheet, sst, &next, (char)('A' + c), 1, head[c]);
	fprintf(sheet, "</row>");
	for (long i = 0; i < n; i++) {
		long p = perm(i), r = i + 2;
		long mob = contact_of(i, email, sizeof email);

		name_of(i, "Asha", first, sizeof first);
		name_of(p, "Verma", last, sizeof last);
		fprintf(sheet, "<row r=\"%ld\" spans=\"1:4\">", r);
		sst_cell(sheet, sst, &next, 'A', r, first);
		sst_cell(sheet, sst, &next, 'B', r, last);
		sst_cell(sheet, sst, &next, 'C', r, email);
		if (text_mobiles) {
			snprintf(mobile, sizeof mobile, "%ld", mob);
			sst_cell(sheet, sst, &next, 'D', r, mobile);
		} else {
			fprintf(sheet, "<c r=\"D%ld\"><v>%ld</v></c>", r, mob);
		}
		fprintf(sheet, "</row>");
	}
	fprintf(sheet, "</sheetData><pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" "
		       "bottom=\"0.75\" header=\"0.3\" footer=\"0.3\"/></worksheet>");
	fprintf(sst, "</sst>");
	if (fclose(sheet) != 0 || fclose(sst) != 0) {
		sheet = sst = NULL;
		goto out;
	}
	sheet = sst = NULL;
	za = zip_open(xlsx, ZIP_CREATE | ZIP_TRUNCATE, &err);
	if (!za || add_buffer(za, "[Content_Types].xml", SST_TYPES) ||
	    add_buffer(za, "_rels/.rels", SST_RELS) ||
	    add_buffer(za, "xl/workbook.xml", SST_WORKBOOK) ||
	    add_buffer(za, "xl/_rels/workbook.xml.rels", SST_WB_RELS) ||
	    add_file(za, "xl/sharedStrings.xml", sst_path) ||
	    add_file(za, "xl/worksheets/sheet1.xml", sheet_path))
		goto out;
	rc = zip_close(za) != 0;
	za = NULL;
out:
	if (za)
		zip_discard(za);
	if (sheet)
		fclose(sheet);
	if (sst)
		fclose(sst);
	unlink(sheet_path);
	unlink(sst_path);
	return rc;
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
	if (argc == 5 && strcmp(argv[1], "upload-sst") == 0 &&
	    (strcmp(argv[4], "number") == 0 || strcmp(argv[4], "text") == 0))
		return upload_sst(atol(argv[2]), argv[3], strcmp(argv[4], "text") == 0);
	if (argc == 4 && strcmp(argv[1], "upload-names") == 0)
		return upload_names(atol(argv[2]), argv[3]);
	if (argc == 5 && strcmp(argv[1], "users") == 0)
		return users(atol(argv[2]), argv[3], argv[4]);
	fprintf(stderr, "usage: gen upload N out.csv out.xlsx | gen upload-sst N out.xlsx number|text"
			" | gen upload-names N out.csv | gen users N out.csv ORG\n");
	return 2;
}
