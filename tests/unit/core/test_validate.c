#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/unicode_tables.h"
#include "core/validate.h"
#include "util/utf8.h"

enum rule { R_UTF8, R_NAME, R_EMAIL, R_MOBILE, R_TEXT, R_TEXT_NL };

struct vcase {
	enum rule rule;
	const char *in;
	size_t len;
	int want;
	const char *mobile; /* expected 10 digits for an accepted mobile */
};

/* sizeof keeps embedded NULs in the length. */
#define U(s, w) {R_UTF8, s, sizeof(s) - 1, w, NULL}
#define N(s, w) {R_NAME, s, sizeof(s) - 1, w, NULL}
#define E(s, w) {R_EMAIL, s, sizeof(s) - 1, w, NULL}
#define MOK(s, out) {R_MOBILE, s, sizeof(s) - 1, 1, out}
#define MBAD(s) {R_MOBILE, s, sizeof(s) - 1, 0, NULL}
#define T(s, w) {R_TEXT, s, sizeof(s) - 1, w, NULL}
#define TN(s, w) {R_TEXT_NL, s, sizeof(s) - 1, w, NULL}

static const struct vcase cases[] = {
	/* UTF-8: well-formed boundaries */
	U("", 1),
	U("abc", 1),
	U("a\0b", 1), /* U+0000 is well-formed; the rules refuse it */
	U("\xC2\x80", 1),
	U("\xDF\xBF", 1),
	U("\xE0\xA0\x80", 1),
	U("\xED\x9F\xBF", 1),     /* U+D7FF */
	U("\xEE\x80\x80", 1),     /* U+E000 */
	U("\xEF\xBF\xBF", 1),     /* U+FFFF */
	U("\xF0\x90\x80\x80", 1), /* U+10000 */
	U("\xF4\x8F\xBF\xBF", 1), /* U+10FFFF */
	U("सुरेश", 1),
	/* UTF-8: ill-formed of every kind */
	U("\xC0\x80", 0),         /* overlong NUL */
	U("\xC1\xBF", 0),         /* overlong 2-byte */
	U("\xE0\x80\xAF", 0),     /* overlong '/' */
	U("\xE0\x9F\xBF", 0),     /* overlong U+07FF */
	U("\xF0\x8F\xBF\xBF", 0), /* overlong U+FFFF */
	U("\xED\xA0\x80", 0),     /* surrogate U+D800 */
	U("\xED\xBF\xBF", 0),     /* surrogate U+DFFF */
	U("\xF4\x90\x80\x80", 0), /* U+110000 */
	U("\xF5\x80\x80\x80", 0),
	U("\xF8\x88\x80\x80\x80", 0), /* 5-byte form */
	U("\xFE", 0),
	U("\xFF", 0),
	U("\x80", 0),             /* lone continuation */
	U("a\xBF" "b", 0),
	U("\xC3", 0),             /* truncated at the end */
	U("\xE0\xA4", 0),         /* truncated स */
	U("\xF0\x9F\x98", 0),     /* truncated emoji */
	U("\xC3\x28", 0),         /* bad continuation */
	U("\xE2\x82\x28", 0),
	U("\xF0\x9F\x98\x28", 0),

	/* Names: valid */
	N("Ramesh", 1),
	N("x", 1),
	N("O'Brien", 1),
	N("D\u2019Souza", 1),
	N("Mary-Jane", 1),
	N("K. Ramesh", 1),
	N("Anne  Marie", 1),
	N("José", 1),
	N("Jose\u0301", 1), /* decomposed: e + combining acute */
	N("Łukasz", 1),
	N("Σωκράτης", 1),
	N("Иван", 1),
	N("山田", 1),
	N("김민준", 1),
	N("सुरेश", 1),         /* Devanagari */
	N("सुरेश कुमार", 1),
	N("श्रीनिवास", 1),
	N("முருகன்", 1),        /* Tamil, ends with virama */
	N("সুরেশ", 1),          /* Bengali */
	N("ਸੁਰੇਸ਼", 1),         /* Gurmukhi */
	N("సురేష్", 1),         /* Telugu */
	N("സുരേഷ്", 1),        /* Malayalam */
	N("ସୁରେଶ", 1),          /* Odia */
	N("સુરેશ", 1),          /* Gujarati */
	N("ಸುರೇಶ್", 1),         /* Kannada */
	N("محمد علی", 1),      /* Urdu */
	N("مُحَمَّد", 1),        /* Arabic script with harakat */
	N("र\u094D\u200Dया", 1),        /* eyelash ra: RA VIRAMA ZWJ YA */
	N("क\u094D\u200Cष", 1),         /* ZWNJ: explicit virama */
	N("রমন\u09CD\u200D", 1),        /* joiner at the end of a word */
	N("രാമന\u0D4D\u200D കുമാർ", 1), /* old Malayalam chillu, then space */
	N("ශ\u0DCA\u200Dරී", 1),        /* Sinhala repaya, mark after ZWJ */
	N("فرزانه\u200Cای", 1),         /* ZWNJ between Arabic-script letters */
	/* Names: invalid */
	N("", 0),
	N(" ", 0),
	N(".", 0),
	N("-'.", 0),
	N("Ramesh1", 0),
	N("R2D2", 0),
	N("रमेश१", 0),              /* Devanagari digit */
	N("\u0941सुरेश", 0),          /* leading combining mark */
	N("\u0301", 0),
	N("सु \u0941", 0),            /* mark after a space */
	N("a-\u0301b", 0),           /* mark after a hyphen */
	N("\u200Dसुरेश", 0),          /* leading joiner */
	N("स\u200D\u200Dर", 0),       /* two joiners */
	N("a \u200Cb", 0),           /* joiner after a space */
	N("Ram\U0001F600", 0),      /* emoji */
	N("\u2764\uFE0F", 0),       /* heart + variation selector */
	N("<script>", 0),
	N("a@b", 0),
	N("Ram_esh", 0),
	N("Ram,esh", 0),
	N("Ram\"", 0),
	N("Ram(esh)", 0),
	N("Ram/esh", 0),
	N("Ram&esh", 0),
	N("Ram\tesh", 0),
	N("Ram\nesh", 0),
	N("Ram\0esh", 0),           /* embedded NUL */
	N("Ram\x7F", 0),
	N("Ram\xC2\x85", 0),        /* C1 NEL */
	N("Ram\u00A0esh", 0),       /* no-break space */
	N("Ram\u200Besh", 0),       /* zero-width space */
	N("Ram\u202Eesh", 0),       /* right-to-left override */
	N("\u2018Ram", 0),          /* left quote is not an apostrophe */
	N("\u216B", 0),             /* Roman numeral (Nl) */
	N("Ram\xC0\x80", 0),        /* overlong */
	N("Ram\xED\xA0\x80", 0),    /* surrogate */
	N("Ram\xE0\xA4", 0),        /* truncated */

	/* E-mail: valid */
	E("a@b.co", 1),
	E("ramesh.kumar@gov.in", 1),
	E("Ramesh.Kumar@NIC.IN", 1),
	E("user+tag@mail.example.com", 1),
	E("!#$%&'*+/=?^_`{|}~-@x.org", 1),
	E("a.b.c@x-y.z.in", 1),
	E("a@1.example.com", 1),
	E("a@x--y.example.com", 1),
	E("gita01@yopmail.com", 1),
	/* E-mail: invalid */
	E("", 0),
	E("a", 0),
	E("@b.co", 0),
	E("a@", 0),
	E("a@b", 0),          /* single label */
	E("a@localhost", 0),
	E(".a@b.co", 0),
	E("a.@b.co", 0),
	E("a..b@b.co", 0),
	E("a@b..co", 0),
	E("a@.b.co", 0),
	E("a@b.co.", 0),
	E("a@-b.co", 0),
	E("a@b-.co", 0),
	E("a@b.c-o", 0),
	E("a@b.123", 0),      /* numeric TLD */
	E("a@b.c1", 0),
	E("a@b.c", 0),        /* one-letter TLD */
	E("a@[192.168.0.1]", 0),
	E("a@192.168.0.1", 0),
	E("ramesh @yopmail.co", 0),
	E(" a@b.co", 0),
	E("a@b.co ", 0),
	E("a b@c.co", 0),
	E("\"a\"@b.co", 0),
	E("a@@b.co", 0),
	E("a@b@c.co", 0),
	E("अ@b.co", 0),
	E("a@bü.de", 0),
	E("a@b_c.co", 0),
	E("a(b)@c.co", 0),
	E("a,b@c.co", 0),
	E("a\0@b.co", 0),
	E("a@b.co\0", 0),
	E("a@b.co\n", 0),

	/* Mobile: every accepted form */
	MOK("9876543210", "9876543210"),
	MOK("+91 98765 43210", "9876543210"),
	MOK("+91-98765-43210", "9876543210"),
	MOK("(+91) 9876543210", "9876543210"),
	MOK("+919876543210", "9876543210"),
	MOK("919876543210", "9876543210"),
	MOK("(91) 98765 43210", "9876543210"),
	MOK("09876543210", "9876543210"),
	MOK("0 98765 43210", "9876543210"),
	MOK("98765-43210", "9876543210"),
	MOK("9876 543 210", "9876543210"),
	MOK(" 9876543210 ", "9876543210"),
	MOK("9876543210.0", "9876543210"),
	MOK("9876543210.00", "9876543210"),
	MOK("9876543210.000000", "9876543210"),
	MOK("9.87654321E9", "9876543210"),
	MOK("9.87654321e+09", "9876543210"),
	MOK("9.876543210E+09", "9876543210"),
	MOK("9876543210e0", "9876543210"),
	MOK("98765432100e-1", "9876543210"),
	MOK("919876543210.0", "9876543210"),
	MOK("9.1987654321E11", "9876543210"),
	MOK("6000000000", "6000000000"),
	MOK("7012345678", "7012345678"),
	MOK("8123456789", "8123456789"),
	/* Mobile: refused */
	MBAD(""),
	MBAD("   "),
	MBAD("1234567890"),
	MBAD("5876543210"),
	MBAD("0876543210"),
	MBAD("987654321"),        /* 9 digits */
	MBAD("98765432101"),      /* 11 digits without 0 */
	MBAD("9198765432101"),    /* 13 digits */
	MBAD("9.87654321E8"),     /* 9 digits */
	MBAD("9876543210.5"),     /* not an integer */
	MBAD("9.8765432155E9"),   /* 9876543215.5 */
	MBAD("98765abcde"),
	MBAD("+1 9876543210"),
	MBAD("+1 98765 43210"),
	MBAD("+9876543210"),
	MBAD("+91 09876543210"),
	MBAD("00919876543210"),   /* 00 international prefix: not accepted */
	MBAD("+91+9876543210"),
	MBAD("91+9876543210"),
	MBAD("((91)) 9876543210"),
	MBAD("(91 9876543210"),
	MBAD("98765)43210("),
	MBAD("9876543210."),
	MBAD(".9876543210"),
	MBAD("9876543210e"),
	MBAD("9876543210.0.0"),
	MBAD("-9.87654321E9"),
	MBAD("+9.87654321E9"),
	MBAD("0.0E0"),
	MBAD("9.87654321E+9999"),
	MOK("98765432100000e-4", "9876543210"),
	MBAD("98765432100001e-4"),
	MBAD("9876543210 ext 1"),
	MBAD("98765/43210"),
	MBAD("98765.43210"),
	MBAD("९८७६५४३२१०"),       /* Devanagari digits */
	MBAD("9876543210\0"),
	MBAD("98765\t43210"),
	MBAD("0000009876543210"),
	MBAD("9876543210                                    "
	     "                    1"),

	/* Free text */
	T("", 1),
	T("hello, world <b>&", 1),
	T("हिन्दी \xC2\xA0 \U0001F600", 1),
	T("a\nb", 0),
	TN("a\nb", 1),
	TN("a\r\nb\r\n", 1),
	TN("a\rb", 0),            /* lone CR */
	TN("a\r", 0),
	T("tab\there", 0),
	TN("tab\there", 0),
	T("a\0b", 0),
	T("\x1B[31m", 0),
	T("a\x7F", 0),
	T("a\xC2\x85", 0),
	T("a\xC2\x9F", 0),
	T("a\xED\xA0\x80", 0),
	TN("a\xC3", 0),
};

/* Each input is copied into a buffer of exactly its length, so that reading
 * past it is caught by AddressSanitizer. */
static int run_case(const struct vcase *c, char out[11])
{
	char *buf = malloc(c->len ? c->len : 1);
	int got = -1;

	assert_non_null(buf);
	memcpy(buf, c->in, c->len);
	switch (c->rule) {
	case R_UTF8: got = utf8_valid(buf, c->len); break;
	case R_NAME: got = val_name(buf, c->len); break;
	case R_EMAIL: got = val_email(buf, c->len); break;
	case R_MOBILE: got = val_mobile(buf, c->len, out); break;
	case R_TEXT: got = val_text(buf, c->len, 0); break;
	case R_TEXT_NL: got = val_text(buf, c->len, 1); break;
	}
	free(buf);
	return got;
}

static void test_table(void **state)
{
	static const char *names[] = {"utf8", "name", "email", "mobile", "text", "text_nl"};
	size_t n = sizeof cases / sizeof cases[0], bad = 0;

	(void)state;
	assert_true(n >= 100);
	for (size_t i = 0; i < n; i++) {
		const struct vcase *c = &cases[i];
		char out[11] = "XXXXXXXXXX";
		int got = run_case(c, out);

		if (got != c->want) {
			print_error("case %zu: %s(\"%s\") = %d, want %d\n", i,
				    names[c->rule], c->in, got, c->want);
			bad++;
		} else if (c->rule == R_MOBILE && got && strcmp(out, c->mobile) != 0) {
			print_error("case %zu: mobile(\"%s\") -> \"%s\", want \"%s\"\n",
				    i, c->in, out, c->mobile);
			bad++;
		} else if (c->rule == R_MOBILE && !got && out[0] != '\0') {
			print_error("case %zu: refused mobile left out non-empty\n", i);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void fill_rep(char *dst, const char *unit, size_t times)
{
	size_t u = strlen(unit);

	for (size_t i = 0; i < times; i++)
		memcpy(dst + i * u, unit, u);
	dst[times * u] = '\0';
}

/* 100 characters accepted, 101 refused, counted in code points. */
static void test_name_length(void **state)
{
	char s[512];

	(void)state;
	fill_rep(s, "a", 100);
	assert_int_equal(val_name(s, 100), 1);
	fill_rep(s, "a", 101);
	assert_int_equal(val_name(s, 101), 0);

	fill_rep(s, "\xE0\xA4\xB8", 100); /* स: 300 bytes, 100 characters */
	assert_int_equal(val_name(s, 300), 1);
	fill_rep(s, "\xE0\xA4\xB8", 101);
	assert_int_equal(val_name(s, 303), 0);

	fill_rep(s, "\xC3\xA9", 100); /* é */
	assert_int_equal(val_name(s, 200), 1);
	fill_rep(s, "\xC3\xA9", 101);
	assert_int_equal(val_name(s, 202), 0);

	fill_rep(s, "\xF0\x90\x90\x80", 100); /* Deseret 𐐀 (Lu), 4 bytes */
	assert_int_equal(val_name(s, 400), 1);

	/* Marks count as characters too: सु is two. */
	fill_rep(s, "\xE0\xA4\xB8\xE0\xA5\x81", 50);
	assert_int_equal(val_name(s, 300), 1);
	memcpy(s + 300, "\xE0\xA4\xB8", 4);
	assert_int_equal(val_name(s, 303), 0);

	/* The length is honoured: a prefix of a longer buffer. */
	fill_rep(s, "a", 200);
	assert_int_equal(val_name(s, 100), 1);
	assert_int_equal(val_name(NULL, 0), 0);
}

static void test_email_length(void **state)
{
	char s[400];
	size_t n;

	(void)state;
	/* local part: 64 accepted, 65 refused */
	fill_rep(s, "a", 64);
	strcat(s, "@gov.in");
	assert_int_equal(val_email(s, strlen(s)), 1);
	fill_rep(s, "a", 65);
	strcat(s, "@gov.in");
	assert_int_equal(val_email(s, strlen(s)), 0);

	/* total: 254 accepted, 255 refused. "a@" + 3 labels of 63 + dots +
	 * a last label to reach the length. */
	for (int total = 254; total <= 255; total++) {
		strcpy(s, "a@");
		for (int k = 0; k < 3; k++) {
			n = strlen(s);
			fill_rep(s + n, "b", 63);
			strcat(s, ".");
		}
		n = strlen(s); /* 194 */
		fill_rep(s + n, "c", (size_t)total - n);
		assert_int_equal((int)strlen(s), total);
		assert_int_equal(val_email(s, strlen(s)), total == 254);
	}

	/* a label of 63 accepted, 64 refused */
	strcpy(s, "a@");
	fill_rep(s + 2, "d", 63);
	strcat(s, ".in");
	assert_int_equal(val_email(s, strlen(s)), 1);
	strcpy(s, "a@");
	fill_rep(s + 2, "d", 64);
	strcat(s, ".in");
	assert_int_equal(val_email(s, strlen(s)), 0);

	/* the length is honoured: "a@b.co" inside "a@b.com" */
	assert_int_equal(val_email("a@b.com", 6), 1);
	assert_int_equal(val_email("a@b.c!!", 5), 0);
	assert_int_equal(val_email(NULL, 0), 0);
}

static void test_mobile_misc(void **state)
{
	char out[11];

	(void)state;
	assert_int_equal(val_mobile("+91 98765 43210", 15, NULL), 1);
	assert_int_equal(val_mobile("12345", 5, NULL), 0);
	assert_int_equal(val_mobile(NULL, 0, out), 0);
	assert_string_equal(out, "");
	/* the length is honoured */
	assert_int_equal(val_mobile("9876543210999", 10, out), 1);
	assert_string_equal(out, "9876543210");
	assert_int_equal(val_mobile("9876543210.5", 10, out), 1);
	assert_int_equal(val_mobile("9876543210.5", 12, out), 0);
}

static void test_official(void **state)
{
	const char *d = "gov.in,nic.in";

	(void)state;
	assert_int_equal(val_official_email("a@x.gov.in", d), 1);
	assert_int_equal(val_official_email("a@gov.in", d), 1);
	assert_int_equal(val_official_email("a@nic.in", d), 1);
	assert_int_equal(val_official_email("a@mail.dept.nic.in", d), 1);
	assert_int_equal(val_official_email("a@notgov.in", d), 0);
	assert_int_equal(val_official_email("a@gov.in.evil.com", d), 0);
	assert_int_equal(val_official_email("a@evilgov.in", d), 0);
	assert_int_equal(val_official_email("a@in", d), 0);
	assert_int_equal(val_official_email("a@gmail.com", d), 0);
	assert_int_equal(val_official_email("A@X.GOV.IN", d), 1);
	assert_int_equal(val_official_email("a@x.gov.in", "GOV.IN"), 1);
	assert_int_equal(val_official_email("a@nic.in", " gov.in , nic.in "), 1);
	assert_int_equal(val_official_email("a@nic.in", "gov.in,\tnic.in\t,"), 1);
	assert_int_equal(val_official_email("a@nic.in", "@nic.in"), 1);
	assert_int_equal(val_official_email("a@x.nic.in", ".nic.in"), 1);
	assert_int_equal(val_official_email("a@nic.in", ",,  ,"), 0);
	assert_int_equal(val_official_email("a@nic.in", ""), 0);
	assert_int_equal(val_official_email("a@nic.in", "ic.in"), 0);
	assert_int_equal(val_official_email("a@nic.in", "x.nic.in"), 0);
	assert_int_equal(val_official_email("nic.in", d), 0);
	assert_int_equal(val_official_email(NULL, d), 0);
	assert_int_equal(val_official_email("a@nic.in", NULL), 0);
}

static void test_unicode_tables(void **state)
{
	(void)state;
	assert_true(strlen(UNI_VERSION) >= 5);
	assert_true(uni_is_letter('A') && uni_is_letter('z'));
	assert_false(uni_is_letter('@') || uni_is_letter('[') || uni_is_letter('`') ||
		     uni_is_letter('{') || uni_is_letter('0'));
	assert_true(uni_is_letter(0x00AA));  /* ª Lo */
	assert_false(uni_is_letter(0x00D7)); /* × Sm */
	assert_true(uni_is_letter(0x0938));  /* स */
	assert_false(uni_is_letter(0x0941)); /* ु is a mark */
	assert_true(uni_is_mark(0x0941));
	assert_true(uni_is_mark(0x0BCD));    /* Tamil virama */
	assert_true(uni_is_mark(0x0300));    /* first mark */
	assert_true(uni_is_mark(0x20DD));    /* enclosing circle, Me */
	assert_true(uni_is_mark(0xE01EF));   /* last variation selector */
	assert_false(uni_is_mark(0x02FF));
	assert_false(uni_is_mark('a'));
	assert_true(uni_is_letter(0x4E00) && uni_is_letter(0x9FFF));
	assert_true(uni_is_letter(0xAC00));  /* Hangul */
	assert_true(uni_is_letter(0x0645));  /* Arabic meem */
	assert_true(uni_is_letter(0x02B0));  /* Lm */
	assert_true(uni_is_letter(0x01C5));  /* Lt */
	assert_false(uni_is_letter(0x0966)); /* Devanagari digit zero */
	assert_false(uni_is_letter(0x1F600) || uni_is_mark(0x1F600));
	assert_false(uni_is_letter(0x200D) || uni_is_mark(0x200D));
	assert_false(uni_is_letter(0xD800) || uni_is_letter(0x10FFFF) ||
		     uni_is_letter(0xFFFFFFFFu) || uni_is_mark(0xFFFFFFFFu));
	assert_true(uni_is_letter(0x3134A)); /* last CJK ext G */
	assert_false(uni_is_letter(0x3134B));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_email_length),
		cmocka_unit_test(test_mobile_misc),
		cmocka_unit_test(test_official),
		cmocka_unit_test(test_unicode_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
