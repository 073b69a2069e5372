/* fuzz_validate: the field rules of src/core/validate.c (every text field
 * of every request and every uploaded row passes through them). Besides
 * memory safety, the harness holds the rules to their documented
 * promises: a valid name is UTF-8 without controls, a valid e-mail is
 * ASCII and at most 254 bytes, a normalised mobile is 10 digits from 6-9
 * and normalises to itself. Input: the field bytes; for the official
 * domain rule, the part after the first NUL is the list of domains. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/validate.h"
#include "fuzz_support.h"
#include "util/utf8.h"

static void fuzz_mobile(const char *s, size_t n)
{
	char out[11], again[11];

	memset(out, 'x', sizeof out);
	if (!val_mobile(s, n, out)) {
		FUZZ_CHECK(out[0] == '\0');
		return;
	}
	FUZZ_CHECK(strlen(out) == 10);
	FUZZ_CHECK(strspn(out, "0123456789") == 10);
	FUZZ_CHECK(out[0] >= '6' && out[0] <= '9');
	/* a normalised number is accepted as it is and stays the same */
	FUZZ_CHECK(val_mobile(out, 10, again) == 1);
	FUZZ_CHECK(memcmp(out, again, 11) == 0);
	FUZZ_CHECK(val_mobile(s, n, NULL) == 1);
}

static void fuzz_email(const char *s, size_t n, const char *domains)
{
	if (!val_email(s, n))
		return;
	FUZZ_CHECK(n >= 3 && n <= VAL_EMAIL_MAX);
	FUZZ_CHECK(memchr(s, '\0', n) == NULL);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
	FUZZ_CHECK(memchr(s, '@', n) != NULL);
	/* val_official_email wants a NUL-terminated, valid address */
	{
		char e[VAL_EMAIL_MAX + 1];

		memcpy(e, s, n);
		e[n] = '\0';
		(void)val_official_email(e, domains);
		(void)val_official_email(e, "gov.in,nic.in");
		(void)val_official_email(e, "");
		FUZZ_CHECK(val_official_email(e, NULL) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *a, *b;
	size_t an, bn;
	char *field, *domains;
	int utf8;

	fuzz_split(data, size, 0, &a, &an, &b, &bn);
	field = fuzz_cstr(a, an); /* exact length: no room read past */
	domains = fuzz_cstr(b, bn);
	if (!field || !domains)
		goto out;
	/* the rules read exactly len bytes: give them a buffer of that size */
	{
		char *exact = malloc(an ? an : 1);

		if (!exact)
			goto out;
		memcpy(exact, a, an);
		utf8 = utf8_valid(exact, an);
		if (val_name(exact, an)) {
			FUZZ_CHECK(utf8);
			FUZZ_CHECK(an > 0 && memchr(exact, '\0', an) == NULL);
		}
		if (val_text(exact, an, 0)) {
			FUZZ_CHECK(utf8 || an == 0);
			FUZZ_CHECK(memchr(exact, '\n', an) == NULL);
		}
		if (val_text(exact, an, 1))
			FUZZ_CHECK(utf8 || an == 0);
		fuzz_mobile(exact, an);
		fuzz_email(exact, an, domains);
		free(exact);
	}
out:
	free(field);
	free(domains);
	return 0;
}
