/* Tests of src/notify/: templates, the log / file / HTTP / SMTP transports
 * against in-test servers on loopback, and the outbox workers against an
 * in-test store that implements the outbox part of store.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify.h"
#include "util/util.h"

/* ---- helpers ----------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
	if (tmpdir[0])
		return;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/pv-notify-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The repository's templates: ./templates when run from the top, else found
 * from this file's path. */
static const char *templates_dir(void)
{
	static char dir[1024];
	struct stat st;

	if (stat("templates/en", &st) == 0)
		return "templates";
	snprintf(dir, sizeof dir, "%s", __FILE__);
	char *p = strstr(dir, "tests/unit/notify/");
	assert_non_null(p);
	strcpy(p, "templates");
	return dir;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	return data;
}

/* Runs with standard error going to a file; returns what was written. */
static int saved_stderr = -1;
static char stderr_path[512];

static void capture_stderr_begin(void)
{
	int fd;

	make_tmpdir();
	snprintf(stderr_path, sizeof stderr_path, "%s/stderr.txt", tmpdir);
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
}

static char *capture_stderr_end(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	return read_all(stderr_path);
}

static int b64_decode(const char *in, char *out, size_t cap, size_t *len)
{
	return sodium_base642bin((unsigned char *)out, cap, in, strlen(in),
				 " \r\n", len, NULL,
				 sodium_base64_VARIANT_ORIGINAL);
}

/* ---- templates --------------------------------------------------------- */

static int tpl_setup(void **state)
{
	notify_templates *t = NULL;
	char err[256];

	assert_int_equal(notify_templates_load(templates_dir(), &t, err,
					       sizeof err),
			 PV_OK);
	*state = t;
	return 0;
}

static int tpl_teardown(void **state)
{
	notify_templates_free(*state);
	return 0;
}

static void test_render_en(void **state)
{
	notify_rendered r;
	char err[256];

	assert_int_equal(notify_render(*state, "otp_sms", "en",
				       "{\"code\":\"482910\",\"minutes\":10,"
				       "\"purpose\":\"login\"}",
				       &r, err, sizeof err),
			 PV_OK);
	assert_string_equal(r.text,
			    "482910 is your iGOT Karmayogi one-time code to log "
			    "in. It is valid for 10 minutes. Do not share it "
			    "with anyone.");
	assert_string_equal(r.subject, "");
	assert_string_equal(r.lang, "en");
	notify_rendered_free(&r);

	assert_int_equal(notify_render(*state, "activation_email", "en",
				       "{\"first_name\":\"Ramesh\",\"link\":"
				       "\"https://x.gov.in/activate?token=T\","
				       "\"hours\":24}",
				       &r, err, sizeof err),
			 PV_OK);
	assert_string_equal(r.subject, "Activate your iGOT Karmayogi account");
	assert_non_null(strstr(r.text, "Dear Ramesh,\n"));
	assert_non_null(strstr(r.text, "\nhttps://x.gov.in/activate?token=T\n"));
	assert_non_null(strstr(r.text, "valid for 24 hours"));
	assert_int_not_equal(r.text[strlen(r.text) - 1], '\n');
	notify_rendered_free(&r);

	assert_int_equal(notify_render(*state, "request_approved_email", "en",
				       "{\"full_name\":\"Gita Ben\",\"kind\":"
				       "\"organisation\",\"name\":\"Dept. of X\"}",
				       &r, err, sizeof err),
			 PV_OK);
	assert_string_equal(r.subject,
			    "Your request for \"Dept. of X\" has been approved");
	assert_non_null(strstr(r.text, "the organisation \"Dept. of X\""));
	notify_rendered_free(&r);
}

static void test_render_hi_and_fallback(void **state)
{
	notify_rendered r;
	char err[256];
	const char *p = "{\"code\":\"482910\",\"minutes\":5,\"purpose\":"
			"\"register\"}";

	assert_int_equal(notify_render(*state, "otp_sms", "hi", p, &r, err,
				       sizeof err),
			 PV_OK);
	assert_string_equal(r.lang, "hi");
	assert_string_equal(
		r.text,
		"पंजीकरण हेतु मोबाइल नंबर सत्यापित करने के लिए आपका "
		"आईगॉट कर्मयोगी वन-टाइम कोड 482910 है। यह 5 मिनट तक मान्य "
		"है। इसे किसी के साथ साझा न करें।");
	notify_rendered_free(&r);

	/* a region tag falls back to its language */
	assert_int_equal(notify_render(*state, "otp_sms", "hi-IN", p, &r, err,
				       sizeof err),
			 PV_OK);
	assert_string_equal(r.lang, "hi");
	notify_rendered_free(&r);

	/* unknown language and no language: English */
	assert_int_equal(notify_render(*state, "otp_sms", "fr", p, &r, err,
				       sizeof err),
			 PV_OK);
	assert_string_equal(r.lang, "en");
	assert_non_null(strstr(r.text, "482910 is your"));
	notify_rendered_free(&r);
	assert_int_equal(notify_render(*state, "otp_sms", NULL, p, &r, err,
				       sizeof err),
			 PV_OK);
	assert_string_equal(r.lang, "en");
	notify_rendered_free(&r);

	/* Hindi e-mail subject with a kind wording */
	assert_int_equal(notify_render(*state, "request_rejected_email", "hi",
				       "{\"full_name\":\"गीता\",\"kind\":"
				       "\"position\",\"name\":\"लेखाकार\","
				       "\"reason\":\"पहले से मौजूद\"}",
				       &r, err, sizeof err),
			 PV_OK);
	assert_string_equal(r.subject,
			    "\"लेखाकार\" के लिए आपका अनुरोध स्वीकृत नहीं हुआ");
	assert_non_null(strstr(r.text, "पद \"लेखाकार\""));
	assert_non_null(strstr(r.text, "कारण: पहले से मौजूद"));
	notify_rendered_free(&r);
}

static void test_render_errors(void **state)
{
	notify_rendered r;
	char err[256];

	/* missing parameter: named in the error */
	assert_int_equal(notify_render(*state, "otp_sms", "en",
				       "{\"minutes\":10,\"purpose\":\"login\"}",
				       &r, err, sizeof err),
			 PV_EINVAL);
	assert_non_null(strstr(err, "\"code\""));
	assert_null(r.text);
	/* a purpose with no wording */
	assert_int_equal(notify_render(*state, "otp_sms", "en",
				       "{\"code\":\"1\",\"minutes\":10,"
				       "\"purpose\":\"bogus\"}",
				       &r, err, sizeof err),
			 PV_EINVAL);
	assert_null(strstr(err, "bogus"));
	/* not an object, not JSON, a value of another type */
	assert_int_equal(notify_render(*state, "otp_sms", "en", "[1]", &r, err,
				       sizeof err),
			 PV_EINVAL);
	assert_int_equal(notify_render(*state, "otp_sms", "en", "{", &r, err,
				       sizeof err),
			 PV_EINVAL);
	assert_int_equal(notify_render(*state, "welcome_sms", "en",
				       "{\"first_name\":true,\"org_name\":\"O\","
				       "\"login_url\":\"u\"}",
				       &r, err, sizeof err),
			 PV_EINVAL);
	/* unknown template */
	assert_int_equal(notify_render(*state, "nope", "en", "{}", &r, err,
				       sizeof err),
			 PV_ENOTFOUND);
}

/* Writes a complete minimal template set for language `lang` under dir. */
static void write_min_set(const char *dir, const char *lang)
{
	char path[600];

	snprintf(path, sizeof path, "%s/%s", dir, lang);
	mkdir(dir, 0700);
	mkdir(path, 0700);
	for (size_t i = 0; i < notify_template_count; i++) {
		const char *n = notify_template_names[i];
		int email = strstr(n, "_email") != NULL;

		snprintf(path, sizeof path, "%s/%s/%s.txt", dir, lang, n);
		write_file(path, email ? "Subject: S {{x}}\n\nHello {{x}}\n"
				       : "DLT-Template-Id: 1107\r\n\r\nHi {{x}}.\r\n");
	}
}

static void test_templates_load_errors(void **state)
{
	char dir[400], path[600], err[256];
	notify_templates *t = NULL;
	notify_rendered r;

	(void)state;
	make_tmpdir();
	snprintf(dir, sizeof dir, "%s/tpl", tmpdir);
	rm_rf(dir);
	write_min_set(dir, "en");
	write_min_set(dir, "ta");
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err), PV_OK);
	assert_int_equal(notify_render(t, "welcome_sms", "ta", "{\"x\":\"A\"}",
				       &r, err, sizeof err),
			 PV_OK);
	assert_string_equal(r.text, "Hi A.");
	assert_string_equal(r.template_id, "1107");
	assert_string_equal(r.lang, "ta");
	notify_rendered_free(&r);
	assert_int_equal(notify_render(t, "welcome_email", "en",
				       "{\"x\":1.5}", &r, err, sizeof err),
			 PV_OK);
	assert_string_equal(r.subject, "S 1.5");
	assert_string_equal(r.text, "Hello 1.5");
	notify_rendered_free(&r);
	notify_templates_free(t);
	t = NULL;

	/* a template missing in one language */
	snprintf(path, sizeof path, "%s/ta/welcome_email.txt", dir);
	unlink(path);
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err),
			 PV_ENOTFOUND);
	assert_null(t);
	assert_non_null(strstr(err, "ta/welcome_email.txt"));
	write_file(path, "Subject: x\n\nbody\n");

	/* an e-mail template without a subject */
	write_file(path, "\nbody\n");
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err),
			 PV_EFORMAT);
	assert_non_null(strstr(err, "Subject"));
	/* a malformed placeholder */
	write_file(path, "Subject: x\n\nbody {{ x }}\n");
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err),
			 PV_EFORMAT);
	/* an unknown header */
	write_file(path, "Subjekt: x\n\nbody\n");
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err),
			 PV_EFORMAT);
	/* no blank line */
	write_file(path, "Subject: x\n");
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err),
			 PV_EFORMAT);
	/* not UTF-8 */
	write_file(path, "Subject: x\n\nbad \xff byte\n");
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err),
			 PV_EFORMAT);
	write_file(path, "Subject: x\n\nbody\n");
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err), PV_OK);
	notify_templates_free(t);
	t = NULL;

	/* no English set at all, and no directory */
	snprintf(path, sizeof path, "%s/en", dir);
	rm_rf(path);
	assert_int_equal(notify_templates_load(dir, &t, err, sizeof err),
			 PV_ENOTFOUND);
	snprintf(path, sizeof path, "%s/none", dir);
	assert_int_equal(notify_templates_load(path, &t, err, sizeof err),
			 PV_EIO);
	assert_null(t);
	rm_rf(dir);
}

/* ---- mask, back-off, log and file transports ---------------------------- */

static void test_mask_and_backoff(void **state)
{
	char m[64];

	(void)state;
	notify_mask("9876543210", m, sizeof m);
	assert_string_equal(m, "98xxxxxx10");
	notify_mask("ramesh.kumar@example.gov.in", m, sizeof m);
	assert_string_equal(m, "r***@example.gov.in");
	notify_mask("weird", m, sizeof m);
	assert_string_equal(m, "***");
	notify_mask(NULL, m, sizeof m);
	assert_string_equal(m, "***");

	assert_int_equal(notify_backoff_ms(1, 1000, 300000), 1000);
	assert_int_equal(notify_backoff_ms(2, 1000, 300000), 2000);
	assert_int_equal(notify_backoff_ms(4, 1000, 300000), 8000);
	assert_int_equal(notify_backoff_ms(9, 1000, 300000), 256000);
	assert_int_equal(notify_backoff_ms(10, 1000, 300000), 300000);
	assert_int_equal(notify_backoff_ms(1000, 1000, 300000), 300000);
}

static void test_log_transport(void **state)
{
	notify_transport *t = NULL;
	notify_msg m = {.channel = "sms", .to = "9876543210",
			.template_name = "otp_sms",
			.text = "482910 is your code"};
	char err[128], *out, *nl;

	(void)state;
	assert_int_equal(notify_sms_open("log", NULL, &t, err, sizeof err), PV_OK);
	capture_stderr_begin();
	int r = t->send(t, &m, err, sizeof err);
	out = capture_stderr_end();
	assert_int_equal(r, PV_OK);
	/* first line: the JSON log line, masked and without the text */
	nl = strchr(out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_non_null(strstr(out, "\"to\":\"98xxxxxx10\""));
	assert_non_null(strstr(out, "\"template\":\"otp_sms\""));
	assert_null(strstr(out, "482910"));
	/* then the development line, on its own */
	assert_string_equal(nl + 1, "SMS to 9876543210: 482910 is your code\n");
	free(out);
	notify_transport_free(t);
}

static void test_file_transports(void **state)
{
	notify_transport *sms = NULL, *mail = NULL;
	char path[400], spec[420], err[128];
	notify_msg m1 = {.channel = "sms", .to = "9876543210",
			 .template_name = "otp_sms", .text = "कोड \"482910\"\n"};
	notify_msg m2 = {.channel = "email", .to = "a@b.gov.in",
			 .template_name = "activation_email",
			 .subject = "खाता सक्रिय करें", .text = "line1\nline2"};
	char *data, *save = NULL, *line;
	int n = 0;

	(void)state;
	make_tmpdir();
	snprintf(path, sizeof path, "%s/out.jsonl", tmpdir);
	unlink(path);
	snprintf(spec, sizeof spec, "file:%s", path);
	assert_int_equal(notify_sms_open(spec, NULL, &sms, err, sizeof err), PV_OK);
	assert_int_equal(notify_mail_open(spec, NULL, &mail, err, sizeof err),
			 PV_OK);
	assert_int_equal(sms->send(sms, &m1, err, sizeof err), PV_OK);
	assert_int_equal(mail->send(mail, &m2, err, sizeof err), PV_OK);
	assert_int_equal(sms->send(sms, &m1, err, sizeof err), PV_OK);
	data = read_all(path);
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		const notify_msg *m = n == 1 ? &m2 : &m1;

		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(o, "channel")),
				    m->channel);
		assert_string_equal(json_string_value(json_object_get(o, "to")),
				    m->to);
		assert_string_equal(json_string_value(json_object_get(o, "template")),
				    m->template_name);
		assert_string_equal(json_string_value(json_object_get(o, "text")),
				    m->text);
		assert_int_equal(strlen(json_string_value(json_object_get(o, "at"))),
				 24);
		if (n == 1)
			assert_string_equal(
				json_string_value(json_object_get(o, "subject")),
				m2.subject);
		else
			assert_null(json_object_get(o, "subject"));
		json_decref(o);
	}
	assert_int_equal(n, 3);
	free(data);
	notify_transport_free(sms);
	notify_transport_free(mail);

	/* spec errors */
	assert_int_equal(notify_sms_open("pigeon", NULL, &sms, err, sizeof err),
			 PV_EINVAL);
	assert_int_equal(notify_sms_open("http", NULL, &sms, err, sizeof err),
			 PV_EINVAL);
	assert_int_equal(notify_mail_open("file:/nonexistent-dir/x", NULL, &mail,
					  err, sizeof err),
			 PV_EIO);
	assert_int_equal(notify_mail_open("smtp://127.0.0.1:25", "no address",
					  &mail, err, sizeof err),
			 PV_EINVAL);
	assert_null(mail);
}

/* A send must end within the outbox's lease (60 s): a longer bound lets a
 * slow gateway still be sending when the lease expires, and another worker
 * claims the row and sends the same SMS or e-mail again. */
static void test_transport_timeout_bounds(void **state)
{
	notify_transport *t = NULL;
	notify_http_cfg cfg = {.url = "http://127.0.0.1:9/send"};
	char err[256];

	(void)state;
	cfg.timeout_s = NOTIFY_SEND_MAX_S;
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_OK);
	notify_transport_free(t);
	t = NULL;
	cfg.timeout_s = NOTIFY_SEND_MAX_S + 1;
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_EINVAL);
	assert_null(t);
	assert_non_null(strstr(err, "PRAVESH_SMS_TIMEOUT"));
	cfg.timeout_s = 1000000000;
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_EINVAL);
	assert_null(t);

	assert_int_equal(notify_mail_open_timeout("smtp://127.0.0.1:25", NULL, NOTIFY_SEND_MAX_S,
						  &t, err, sizeof err), PV_OK);
	notify_transport_free(t);
	t = NULL;
	assert_int_equal(notify_mail_open_timeout("smtp://127.0.0.1:25", NULL, NOTIFY_SEND_MAX_S + 1,
						  &t, err, sizeof err), PV_EINVAL);
	assert_null(t);
	assert_non_null(strstr(err, "PRAVESH_MAIL_TIMEOUT"));
	assert_true((int64_t)NOTIFY_SEND_MAX_S * 1000 < 60000); /* the default lease */
}

/* ---- HTTP SMS gateway against libmicrohttpd ------------------------------ */

typedef struct http_cap {
	int status; /* what to answer */
	int requests;
	char method[16], url[512], api_key[128], auth[128], ctype[128];
	char arg_to[64], arg_text[1024];
	char body[8192];
	size_t body_len;
} http_cap;

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *c,
				    const char *url, const char *method,
				    const char *version, const char *upload,
				    size_t *upload_size, void **con_cls)
{
	static int marker;
	http_cap *cap = cls;
	const char *v;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	static const char answer[] = "{\"error\":\"secret-body-482910\"}";

	(void)version;
	if (*con_cls == NULL) {
		*con_cls = &marker;
		cap->body_len = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (n > sizeof cap->body - 1 - cap->body_len)
			n = sizeof cap->body - 1 - cap->body_len;
		memcpy(cap->body + cap->body_len, upload, n);
		cap->body_len += n;
		cap->body[cap->body_len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	cap->body[cap->body_len] = '\0';
	cap->requests++;
	snprintf(cap->method, sizeof cap->method, "%s", method);
	snprintf(cap->url, sizeof cap->url, "%s", url);
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key");
	snprintf(cap->api_key, sizeof cap->api_key, "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	snprintf(cap->auth, sizeof cap->auth, "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	snprintf(cap->ctype, sizeof cap->ctype, "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
	snprintf(cap->arg_to, sizeof cap->arg_to, "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "text");
	snprintf(cap->arg_text, sizeof cap->arg_text, "%s", v ? v : "");
	resp = MHD_create_response_from_buffer(strlen(answer), (void *)answer,
					       MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, (unsigned)cap->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct MHD_Daemon *http_start(http_cap *cap, int *port)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
			     http_handler, cap, MHD_OPTION_SOCK_ADDR, &sa,
			     MHD_OPTION_END);
	assert_non_null(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	*port = info->port;
	assert_true(*port > 0);
	return d;
}

/* %XX and '+' decoding for the form-encoded body */
static void url_decode(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 1 < cap; in++) {
		if (*in == '%' && in[1] && in[2]) {
			char h[3] = {in[1], in[2], 0};

			out[o++] = (char)strtol(h, NULL, 16);
			in += 2;
		} else {
			out[o++] = *in == '+' ? ' ' : *in;
		}
	}
	out[o] = '\0';
}

static void test_sms_http(void **state)
{
	http_cap cap;
	int port;
	struct MHD_Daemon *d;
	char url[256], err[256];
	notify_transport *t = NULL;
	const char *text = "Your code is \"482910\" & कोड\n";
	notify_msg m = {.channel = "sms", .to = "9876543210",
			.template_name = "otp_sms", .template_id = "1107161",
			.text = text};
	notify_http_cfg cfg;
	json_t *o;
	json_error_t je;

	(void)state;
	memset(&cap, 0, sizeof cap);
	cap.status = 200;
	d = http_start(&cap, &port);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/send", port);

	/* JSON body (the default), headers separated by "\n" and by a real
	 * newline */
	cfg = (notify_http_cfg){.url = url,
				.headers = "X-Api-Key: k-1\\nAuthorization: "
					   "Bearer tok\n"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_OK);
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_OK);
	assert_int_equal(cap.requests, 1);
	assert_string_equal(cap.method, "POST");
	assert_string_equal(cap.url, "/v1/send");
	assert_string_equal(cap.api_key, "k-1");
	assert_string_equal(cap.auth, "Bearer tok");
	assert_string_equal(cap.ctype, "application/json");
	o = json_loads(cap.body, 0, &je);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "mobile")),
			    "9876543210");
	assert_string_equal(json_string_value(json_object_get(o, "text")), text);
	assert_string_equal(json_string_value(json_object_get(o, "template_id")),
			    "1107161");
	json_decref(o);

	/* a 500 answer is a retryable failure naming the status only */
	cap.status = 500;
	err[0] = '\0';
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_EIO);
	assert_non_null(strstr(err, "500"));
	assert_null(strstr(err, "secret-body"));
	notify_transport_free(t);

	/* a form-encoded body */
	cap.status = 202;
	cfg = (notify_http_cfg){
		.url = url,
		.method = "post",
		.headers = "Content-Type: application/x-www-form-urlencoded",
		.body = "to=91{{mobile}}&msg={{text}}&dlt={{template_id}}"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_OK);
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_OK);
	{
		char expect[512], *p, dec[512];

		assert_string_equal(cap.ctype,
				    "application/x-www-form-urlencoded");
		assert_non_null(strstr(cap.body, "to=919876543210&msg="));
		assert_non_null(strstr(cap.body, "&dlt=1107161"));
		p = strstr(cap.body, "msg=") + 4;
		*strchr(p, '&') = '\0';
		assert_null(strchr(p, ' '));
		assert_null(strchr(p, '"'));
		url_decode(p, dec, sizeof dec);
		snprintf(expect, sizeof expect, "%s", text);
		assert_string_equal(dec, expect);
	}
	notify_transport_free(t);

	/* an XML body: values escaped as XML, and sent as XML */
	cfg = (notify_http_cfg){
		.url = url,
		.body = "<sms><to>{{mobile}}</to><text>{{text}}</text><dlt id=\"{{template_id}}\"/></sms>"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_OK);
	m.text = "<b>\"1 & 2\"</b> '3'";
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_OK);
	m.text = text;
	assert_string_equal(cap.ctype, "application/xml; charset=utf-8");
	assert_string_equal(cap.body,
			    "<sms><to>9876543210</to><text>&lt;b&gt;&quot;1 &amp; 2&quot;&lt;/b&gt; "
			    "&apos;3&apos;</text><dlt id=\"1107161\"/></sms>");
	notify_transport_free(t);
	cfg = (notify_http_cfg){.url = url, .headers = "Content-Type: text/xml",
				.body = "<m>{{text}}</m>"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_OK);
	m.text = "a<b";
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_OK);
	m.text = text;
	assert_string_equal(cap.body, "<m>a&lt;b</m>");
	notify_transport_free(t);

	/* GET with the values in the query string */
	cap.status = 200;
	snprintf(url, sizeof url,
		 "http://127.0.0.1:%d/api?to={{mobile}}&text={{text}}", port);
	cfg = (notify_http_cfg){.url = url, .method = "GET"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_OK);
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_OK);
	assert_string_equal(cap.method, "GET");
	assert_string_equal(cap.arg_to, "9876543210");
	assert_string_equal(cap.arg_text, text);
	/* not a mobile number: permanent */
	m.to = "98765x";
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_EINVAL);
	m.to = "9876543210";
	notify_transport_free(t);

	MHD_stop_daemon(d);

	/* nobody listening any more: a retryable failure */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/send", port);
	cfg = (notify_http_cfg){.url = url};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err), PV_OK);
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_EIO);
	notify_transport_free(t);

	/* bad settings */
	cfg = (notify_http_cfg){.url = "ftp://x/"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err),
			 PV_EINVAL);
	cfg = (notify_http_cfg){.url = url, .method = "DELETE"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err),
			 PV_EINVAL);
	cfg = (notify_http_cfg){.url = url, .headers = "no colon here"};
	assert_int_equal(notify_sms_open("http", &cfg, &t, err, sizeof err),
			 PV_EINVAL);
	assert_null(t);
}

/* ---- SMTP against a minimal in-test sink --------------------------------- */

typedef struct smtp_sink {
	int lfd, port;
	int rcpt_code; /* 250, or 550 to refuse the recipient */
	char ehlo[256], mail_from[256], rcpt[256];
	char data[65536];
	size_t data_len;
	int got_quit;
	pthread_t thread;
} smtp_sink;

static int sink_readline(int fd, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = recv(fd, &c, 1, 0);

		if (r <= 0)
			return -1;
		if (c == '\n') {
			if (n && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			return (int)n;
		}
		if (n + 1 < cap)
			line[n++] = c;
	}
}

static void sink_say(int fd, const char *s)
{
	ssize_t w = send(fd, s, strlen(s), MSG_NOSIGNAL);

	(void)w;
}

static void *sink_main(void *arg)
{
	smtp_sink *s = arg;
	char line[2048];
	struct timeval tv = {.tv_sec = 10};
	int fd = accept(s->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	sink_say(fd, "220 sink ESMTP\r\n");
	while (sink_readline(fd, line, sizeof line) >= 0) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			util_strlcpy(s->ehlo, line, sizeof s->ehlo);
			sink_say(fd, "250 sink\r\n");
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			util_strlcpy(s->mail_from, line + 10, sizeof s->mail_from);
			sink_say(fd, "250 ok\r\n");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			util_strlcpy(s->rcpt, line + 8, sizeof s->rcpt);
			sink_say(fd, s->rcpt_code == 250
					     ? "250 ok\r\n"
					     : "550 5.1.1 no such user\r\n");
		} else if (strcasecmp(line, "DATA") == 0) {
			sink_say(fd, "354 go ahead\r\n");
			while (sink_readline(fd, line, sizeof line) >= 0) {
				const char *p = line;
				size_t n;

				if (strcmp(line, ".") == 0)
					break;
				if (p[0] == '.')
					p++; /* undo dot-stuffing */
				n = strlen(p);
				if (s->data_len + n + 2 < sizeof s->data) {
					memcpy(s->data + s->data_len, p, n);
					memcpy(s->data + s->data_len + n, "\r\n", 2);
					s->data_len += n + 2;
					s->data[s->data_len] = '\0';
				}
			}
			sink_say(fd, "250 queued\r\n");
		} else if (strcasecmp(line, "QUIT") == 0) {
			s->got_quit = 1;
			sink_say(fd, "221 bye\r\n");
			break;
		} else if (strcasecmp(line, "RSET") == 0 ||
			   strcasecmp(line, "NOOP") == 0) {
			sink_say(fd, "250 ok\r\n");
		} else {
			sink_say(fd, "502 not implemented\r\n");
		}
	}
	close(fd);
	return NULL;
}

static void sink_start(smtp_sink *s, int rcpt_code)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int one = 1;

	memset(s, 0, sizeof *s);
	s->rcpt_code = rcpt_code;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, sink_main, s), 0);
}

static void sink_join(smtp_sink *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

/* The value of header `name` in the message's header block, unfolded
 * (continuation lines joined without their CRLF). */
static void header_value(const char *msg, const char *name, char *out,
			 size_t cap)
{
	const char *end = strstr(msg, "\r\n\r\n"), *p = msg;
	size_t nl = strlen(name), o = 0;

	out[0] = '\0';
	assert_non_null(end);
	while (p < end) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			while (p < end) {
				if (p[0] == '\r' && p[1] == '\n') {
					if (p[2] != ' ' && p[2] != '\t')
						break;
					p += 2;
					continue;
				}
				if (o + 1 < cap)
					out[o++] = *p;
				p++;
			}
			out[o] = '\0';
			return;
		}
		p = strstr(p, "\r\n");
		if (!p)
			break;
		p += 2;
	}
}

/* Decodes a run of "=?UTF-8?B?...?=" words separated by white space. */
static void decode_words(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	while (*in) {
		const char *s = strstr(in, "=?UTF-8?B?"), *e;
		char enc[256], dec[256];
		size_t dl = 0;

		assert_non_null(s);
		s += 10;
		e = strstr(s, "?=");
		assert_non_null(e);
		assert_true((size_t)(e - s) < sizeof enc);
		memcpy(enc, s, (size_t)(e - s));
		enc[e - s] = '\0';
		assert_int_equal(b64_decode(enc, dec, sizeof dec, &dl), 0);
		assert_true(o + dl < cap);
		memcpy(out + o, dec, dl);
		o += dl;
		in = e + 2;
		while (*in == ' ')
			in++;
	}
	out[o] = '\0';
}

static void test_smtp_hindi(void **state)
{
	smtp_sink s;
	char url[128], err[256], v[1024], dec[4096], expect[4096];
	notify_transport *t = NULL;
	notify_rendered r;
	size_t dl = 0, o = 0;
	const char *body;
	notify_msg m;

	sink_start(&s, 250);
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", s.port);
	assert_int_equal(notify_mail_open(url, "प्रवेश सेवा <no-reply@pravesh.gov.in>",
					  &t, err, sizeof err),
			 PV_OK);
	assert_int_equal(notify_render(*state, "welcome_email", "hi",
				       "{\"first_name\":\"रमेश\",\"org_name\":"
				       "\"कार्मिक विभाग\",\"login_url\":"
				       "\"https://igot.gov.in/login\"}",
				       &r, err, sizeof err),
			 PV_OK);
	m = (notify_msg){.channel = "email", .to = "ramesh@example.com",
			 .template_name = "welcome_email", .subject = r.subject,
			 .text = r.text};
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_OK);
	sink_join(&s);
	assert_int_equal(s.got_quit, 1);
	assert_string_equal(s.mail_from, "<no-reply@pravesh.gov.in>");
	assert_string_equal(s.rcpt, "<ramesh@example.com>");

	header_value(s.data, "Date", v, sizeof v);
	assert_true(strlen(v) >= 29 && strstr(v, " +0000"));
	header_value(s.data, "Message-ID", v, sizeof v);
	assert_true(v[0] == '<' && strstr(v, "@pravesh.gov.in>"));
	header_value(s.data, "To", v, sizeof v);
	assert_string_equal(v, "<ramesh@example.com>");
	header_value(s.data, "MIME-Version", v, sizeof v);
	assert_string_equal(v, "1.0");
	header_value(s.data, "Content-Type", v, sizeof v);
	assert_string_equal(v, "text/plain; charset=UTF-8");
	header_value(s.data, "Content-Transfer-Encoding", v, sizeof v);
	assert_string_equal(v, "base64");
	/* the Hindi subject as RFC 2047 encoded words, each <= 75 chars */
	header_value(s.data, "Subject", v, sizeof v);
	decode_words(v, dec, sizeof dec);
	assert_string_equal(dec, "आईगॉट कर्मयोगी में आपका स्वागत है");
	/* every header line holding encoded words is at most 76 characters */
	for (const char *h = s.data, *e; (e = strstr(h, "\r\n")) != NULL &&
					  e != h;
	     h = e + 2)
		assert_true(e - h <= 76);
	header_value(s.data, "From", v, sizeof v);
	assert_non_null(strstr(v, "<no-reply@pravesh.gov.in>"));
	*strstr(v, " <no-reply") = '\0';
	decode_words(v, dec, sizeof dec);
	assert_string_equal(dec, "प्रवेश सेवा");
	/* the body decodes to the text with CRLF line ends */
	body = strstr(s.data, "\r\n\r\n") + 4;
	assert_int_equal(b64_decode(body, dec, sizeof dec - 1, &dl), 0);
	dec[dl] = '\0';
	for (const char *p = r.text; *p && o + 2 < sizeof expect; p++) {
		if (*p == '\n')
			expect[o++] = '\r';
		expect[o++] = *p;
	}
	expect[o] = '\0';
	assert_string_equal(dec, expect);
	assert_non_null(strstr(dec, "प्रिय रमेश,"));
	notify_rendered_free(&r);
	notify_transport_free(t);
}

static void test_smtp_ascii_and_refusal(void **state)
{
	smtp_sink s;
	char url[128], err[256], v[256];
	notify_transport *t = NULL;
	notify_msg m = {.channel = "email", .to = "a@example.com",
			.template_name = "x", .subject = "Hello\r\nBcc: evil@x",
			.text = "first\n.dot line\nlast"};
	const char *body;

	(void)state;
	sink_start(&s, 250);
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", s.port);
	assert_int_equal(notify_mail_open(url, "no-reply@x.gov.in", &t, err,
					  sizeof err),
			 PV_OK);
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_OK);
	sink_join(&s);
	header_value(s.data, "Content-Transfer-Encoding", v, sizeof v);
	assert_string_equal(v, "7bit");
	/* a newline in the subject cannot add a header */
	header_value(s.data, "Subject", v, sizeof v);
	assert_string_equal(v, "Hello  Bcc: evil@x");
	header_value(s.data, "Bcc", v, sizeof v);
	assert_string_equal(v, "");
	header_value(s.data, "From", v, sizeof v);
	assert_string_equal(v, "<no-reply@x.gov.in>");
	body = strstr(s.data, "\r\n\r\n") + 4;
	assert_string_equal(body, "first\r\n.dot line\r\nlast\r\n");

	/* a refused recipient is a failure; a bad address never connects */
	sink_start(&s, 550);
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", s.port);
	notify_transport_free(t);
	assert_int_equal(notify_mail_open(url, NULL, &t, err, sizeof err), PV_OK);
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_EIO);
	assert_true(err[0] != '\0');
	sink_join(&s);
	m.to = "a@b>\r\nRCPT TO:<c@d";
	assert_int_equal(t->send(t, &m, err, sizeof err), PV_EINVAL);
	notify_transport_free(t);
}

/* ---- the outbox against an in-test store --------------------------------
 * Only the outbox functions of store_ops, with the semantics store.h gives
 * them, over an array guarded by a mutex. */

#define FAKE_MAX 32
typedef struct fake_store {
	store base;
	pthread_mutex_t mu;
	store_outbox rows[FAKE_MAX];
	int n;
	int claims_by_other; /* claims that found a row leased elsewhere */
} fake_store;

static int fake_insert(store *s, store_outbox *m)
{
	fake_store *f = (fake_store *)s;

	pthread_mutex_lock(&f->mu);
	if (f->n == FAKE_MAX) {
		pthread_mutex_unlock(&f->mu);
		return PV_ELIMIT;
	}
	m->id = f->n + 1;
	f->rows[f->n++] = *m;
	pthread_mutex_unlock(&f->mu);
	return PV_OK;
}

static int fake_claim(store *s, const char *worker, int64_t now,
		      int64_t lease_ms, store_outbox *out)
{
	fake_store *f = (fake_store *)s;
	int r = PV_ENOTFOUND;

	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < f->n; i++) {
		store_outbox *m = &f->rows[i];

		if (strcmp(m->status, STORE_OUT_QUEUED) != 0 || m->next_at > now)
			continue;
		if (m->claimed_by[0] && m->lease_until > now)
			continue;
		snprintf(m->claimed_by, sizeof m->claimed_by, "%s", worker);
		m->lease_until = now + lease_ms;
		*out = *m;
		r = PV_OK;
		break;
	}
	pthread_mutex_unlock(&f->mu);
	return r;
}

static int fake_sent(store *s, int64_t id, int64_t now)
{
	fake_store *f = (fake_store *)s;

	pthread_mutex_lock(&f->mu);
	snprintf(f->rows[id - 1].status, STORE_SHORT_MAX, "%s", STORE_OUT_SENT);
	f->rows[id - 1].sent_at = now;
	f->rows[id - 1].claimed_by[0] = '\0';
	pthread_mutex_unlock(&f->mu);
	return PV_OK;
}

static int fake_retry(store *s, int64_t id, int attempts, int64_t next_at,
		      const char *error)
{
	fake_store *f = (fake_store *)s;

	pthread_mutex_lock(&f->mu);
	f->rows[id - 1].attempts = attempts;
	f->rows[id - 1].next_at = next_at;
	snprintf(f->rows[id - 1].last_error, sizeof f->rows[0].last_error, "%s",
		 error);
	f->rows[id - 1].claimed_by[0] = '\0';
	pthread_mutex_unlock(&f->mu);
	return PV_OK;
}

static int fake_fail(store *s, int64_t id, int attempts, const char *error)
{
	fake_store *f = (fake_store *)s;

	pthread_mutex_lock(&f->mu);
	snprintf(f->rows[id - 1].status, STORE_SHORT_MAX, "%s", STORE_OUT_FAILED);
	f->rows[id - 1].attempts = attempts;
	snprintf(f->rows[id - 1].last_error, sizeof f->rows[0].last_error, "%s",
		 error);
	f->rows[id - 1].claimed_by[0] = '\0';
	pthread_mutex_unlock(&f->mu);
	return PV_OK;
}

/* the fake store has no campaign */
static int fake_campaign_claim(store *s, const char *worker, int64_t now,
			       int64_t lease_ms, store_campaign *out)
{
	(void)s;
	(void)worker;
	(void)now;
	(void)lease_ms;
	(void)out;
	return PV_ENOTFOUND;
}

static const struct store_ops fake_ops = {
	.name = "fake",
	.campaign_claim = fake_campaign_claim,
	.outbox_insert = fake_insert,
	.outbox_claim = fake_claim,
	.outbox_sent = fake_sent,
	.outbox_retry = fake_retry,
	.outbox_fail = fake_fail,
};

static void fake_init(fake_store *f)
{
	memset(f, 0, sizeof *f);
	f->base.ops = &fake_ops;
	pthread_mutex_init(&f->mu, NULL);
}

static void fake_row(fake_store *f, int64_t id, store_outbox *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->rows[id - 1];
	pthread_mutex_unlock(&f->mu);
}

/* A transport that always fails, counting its calls. */
typedef struct failing {
	notify_transport base;
	_Atomic int calls;
} failing;

static int failing_send(notify_transport *t, const notify_msg *m, char *err,
			size_t errlen)
{
	(void)m;
	((failing *)t)->calls++;
	snprintf(err, errlen, "relay down");
	return PV_EIO;
}

static int row_done(fake_store *f, int64_t id)
{
	store_outbox m;

	fake_row(f, id, &m);
	return strcmp(m.status, STORE_OUT_QUEUED) != 0;
}

static void wait_done(fake_store *f, const int64_t *ids, int n, int max_ms)
{
	for (int waited = 0; waited < max_ms; waited += 10) {
		int all = 1;

		for (int i = 0; i < n; i++)
			all &= row_done(f, ids[i]);
		if (all)
			return;
		usleep(10000);
	}
	fail_msg("outbox rows not finished within %d ms", max_ms);
}

static void test_outbox_workers(void **state)
{
	fake_store f;
	notify_transport *sms = NULL;
	failing mail = {.base = {.name = "failing", .send = failing_send}};
	notify_runtime *rt = NULL, *rt2 = NULL;
	notify_config cfg;
	notify_counters c;
	char path[400], spec[420], err[128], *data, *logs;
	int64_t ids[4];
	store_outbox m;

	fake_init(&f);
	make_tmpdir();
	snprintf(path, sizeof path, "%s/outbox-sms.jsonl", tmpdir);
	unlink(path);
	snprintf(spec, sizeof spec, "file:%s", path);
	assert_int_equal(notify_sms_open(spec, NULL, &sms, err, sizeof err), PV_OK);

	/* enqueue checks its arguments */
	assert_int_equal(notify_enqueue(&f.base, "fax", "1", "otp_sms", "en",
					"{}", NULL),
			 PV_EINVAL);
	assert_int_equal(notify_enqueue(&f.base, "sms", "9876543210", "otp_sms",
					"en", "[]", NULL),
			 PV_EINVAL);
	assert_int_equal(notify_enqueue(&f.base, "sms", "98765 43210", "otp_sms",
					"en", "{}", NULL),
			 PV_EINVAL);
	{
		char big[STORE_JSON_MAX + 32];

		memset(big, 'a', sizeof big);
		memcpy(big, "{\"x\":\"", 6);
		memcpy(big + sizeof big - 3, "\"}", 3);
		assert_int_equal(notify_enqueue(&f.base, "sms", "9876543210",
						"otp_sms", "en", big, NULL),
				 PV_ELIMIT);
	}
	assert_int_equal(f.n, 0);

	assert_int_equal(notify_enqueue(&f.base, "sms", "9876543210", "otp_sms",
					"hi",
					"{\"code\":\"482910\",\"minutes\":10,"
					"\"purpose\":\"login\"}",
					&ids[0]),
			 PV_OK);
	assert_int_equal(notify_enqueue(&f.base, "sms", "9012345678",
					"welcome_sms", NULL,
					"{\"first_name\":\"Gita\",\"org_name\":"
					"\"DoPT\",\"login_url\":\"https://l\"}",
					&ids[1]),
			 PV_OK);
	assert_int_equal(notify_enqueue(&f.base, "email", "gita@example.com",
					"activation_email", "en",
					"{\"first_name\":\"Gita\",\"link\":"
					"\"https://x/activate?token=SECRETTOKEN\","
					"\"hours\":24}",
					&ids[2]),
			 PV_OK);
	/* a missing parameter can never render: failed at once */
	assert_int_equal(notify_enqueue(&f.base, "sms", "9012345679",
					"welcome_sms", "en",
					"{\"first_name\":\"X\"}", &ids[3]),
			 PV_OK);
	fake_row(&f, ids[0], &m);
	assert_string_equal(m.status, STORE_OUT_QUEUED);
	assert_string_equal(m.lang, "hi");
	fake_row(&f, ids[1], &m);
	assert_string_equal(m.lang, "en");

	cfg = (notify_config){.st = &f.base, .templates = *state, .sms = sms,
			      .mail = &mail.base, .workers = 2,
			      .max_attempts = 3, .backoff_ms = 20,
			      .backoff_max_ms = 40, .poll_ms = 10};
	capture_stderr_begin();
	assert_int_equal(notify_start(&cfg, &rt), PV_OK);
	assert_int_equal(notify_start(&cfg, &rt2), PV_EBUSY);
	wait_done(&f, ids, 4, 5000);
	notify_stop(rt);
	logs = capture_stderr_end();

	fake_row(&f, ids[0], &m);
	assert_string_equal(m.status, STORE_OUT_SENT);
	assert_true(m.sent_at > 0);
	fake_row(&f, ids[1], &m);
	assert_string_equal(m.status, STORE_OUT_SENT);
	fake_row(&f, ids[2], &m);
	assert_string_equal(m.status, STORE_OUT_FAILED);
	assert_int_equal(m.attempts, 3);
	assert_string_equal(m.last_error, "relay down");
	assert_int_equal(mail.calls, 3);
	fake_row(&f, ids[3], &m);
	assert_string_equal(m.status, STORE_OUT_FAILED);
	assert_int_equal(m.attempts, 1);
	assert_non_null(strstr(m.last_error, "missing parameter"));

	/* the SMS went out through the file transport, rendered in Hindi */
	data = read_all(path);
	assert_non_null(strstr(data, "482910"));
	assert_non_null(strstr(data, "लॉग इन करने के लिए"));
	assert_non_null(strstr(data, "Dear Gita, DoPT has registered you"));
	free(data);

	/* the logs name templates and masked recipients, never a secret */
	assert_non_null(strstr(logs, "\"template\":\"otp_sms\""));
	assert_non_null(strstr(logs, "98xxxxxx10"));
	assert_non_null(strstr(logs, "\"outbox_id\":\"3\""));
	assert_null(strstr(logs, "482910"));
	assert_null(strstr(logs, "SECRETTOKEN"));
	assert_null(strstr(logs, "9876543210"));
	free(logs);

	/* counters were read before stop in real use; here a fresh runtime
	 * shows that a kick sends at once although the poll is long */
	cfg.poll_ms = 60000;
	cfg.workers = 1;
	capture_stderr_begin();
	assert_int_equal(notify_start(&cfg, &rt), PV_OK);
	usleep(50000); /* the worker is now waiting on its long poll */
	{
		int64_t id, t0 = util_now_ms();

		assert_int_equal(notify_enqueue(&f.base, "sms", "9876543210",
						"otp_sms", "en",
						"{\"code\":\"1\",\"minutes\":1,"
						"\"purpose\":\"request\"}",
						&id),
				 PV_OK);
		wait_done(&f, &id, 1, 3000);
		assert_true(util_now_ms() - t0 < 2000);
		fake_row(&f, id, &m);
		assert_string_equal(m.status, STORE_OUT_SENT);
	}
	notify_counters_get(rt, &c);
	assert_int_equal(c.sent[0], 1);
	assert_int_equal(c.sent[1], 0);
	notify_stop(rt);
	free(capture_stderr_end());
	notify_transport_free(sms);
	pthread_mutex_destroy(&f.mu);
}

/* The counters of a run with retries, read while the runtime runs. */
static void test_outbox_counters(void **state)
{
	fake_store f;
	notify_transport *sms = NULL;
	failing mail = {.base = {.name = "failing", .send = failing_send}};
	notify_runtime *rt = NULL;
	notify_config cfg;
	notify_counters c;
	char err[128];
	int64_t ids[2];

	fake_init(&f);
	assert_int_equal(notify_sms_open("file:/dev/null", NULL, &sms, err,
					 sizeof err),
			 PV_OK);
	assert_int_equal(notify_enqueue(&f.base, "email", "a@example.com",
					"welcome_email", "en",
					"{\"first_name\":\"A\",\"org_name\":\"O\","
					"\"login_url\":\"u\"}",
					&ids[0]),
			 PV_OK);
	assert_int_equal(notify_enqueue(&f.base, "sms", "9876543210",
					"welcome_sms", "en",
					"{\"first_name\":\"A\",\"org_name\":\"O\","
					"\"login_url\":\"u\"}",
					&ids[1]),
			 PV_OK);
	cfg = (notify_config){.st = &f.base, .templates = *state, .sms = sms,
			      .mail = &mail.base, .max_attempts = 4,
			      .backoff_ms = 5, .backoff_max_ms = 10,
			      .poll_ms = 5};
	capture_stderr_begin();
	assert_int_equal(notify_start(&cfg, &rt), PV_OK);
	wait_done(&f, ids, 2, 5000);
	notify_counters_get(rt, &c);
	notify_stop(rt);
	free(capture_stderr_end());
	assert_int_equal(c.sent[0], 1);
	assert_int_equal(c.retried[1], 3);
	assert_int_equal(c.failed[1], 1);
	assert_int_equal(c.failed[0], 0);
	assert_int_equal(mail.calls, 4);
	notify_stop(NULL);
	notify_transport_free(sms);
	pthread_mutex_destroy(&f.mu);
}

/* ---- the outbox on the real SQLite backend --------------------------------
 * store.h has no outbox_get: outcomes are read through outbox_stats, the
 * transports and the counters. */

static void sqlite_wait_idle(store *st, int64_t want_failed, int max_ms)
{
	int64_t q = -1, f = -1;

	for (int waited = 0; waited < max_ms; waited += 10) {
		assert_int_equal(store_outbox_stats(st, &q, &f), PV_OK);
		if (q == 0 && f == want_failed)
			return;
		usleep(10000);
	}
	fail_msg("outbox not drained: queued %lld failed %lld", (long long)q,
		 (long long)f);
}

static int count_lines(const char *path)
{
	char *data = read_all(path);
	int n = 0;

	for (char *p = data; *p; p++)
		n += *p == '\n';
	free(data);
	return n;
}

/* The bytes of a file (NULL and 0 when it cannot be read); caller frees. */
static char *slurp_bytes(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long len;

	*n = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)len)) != NULL)
		*n = fread(b, 1, (size_t)len, f);
	fclose(f);
	return b;
}

static const void *memmem_s(const void *h, size_t hn, const char *needle)
{
	return h ? memmem(h, hn, needle, strlen(needle)) : NULL;
}

static void test_seal(void **state)
{
	unsigned char k1[32], k2[32];
	char sealed[STORE_JSON_MAX], opened[STORE_JSON_MAX], big[STORE_JSON_MAX];
	const char *p = "{\"code\":\"482910\"}";

	(void)state;
	memset(k1, 1, sizeof k1);
	memset(k2, 2, sizeof k2);
	notify_set_key(k1);
	assert_int_equal(notify_seal_params(p, sealed, sizeof sealed), PV_OK);
	assert_int_equal(strncmp(sealed, "enc1:", 5), 0);
	assert_null(strstr(sealed, "482910"));
	assert_int_equal(notify_open_params(sealed, opened, sizeof opened), PV_OK);
	assert_string_equal(opened, p);
	/* rows of older versions, in clear, still open */
	assert_int_equal(notify_open_params(p, opened, sizeof opened), PV_OK);
	assert_string_equal(opened, p);
	/* damaged, or another key: refused */
	sealed[10] ^= 1;
	assert_int_equal(notify_open_params(sealed, opened, sizeof opened), PV_EFORMAT);
	sealed[10] ^= 1;
	notify_set_key(k2);
	assert_int_equal(notify_open_params(sealed, opened, sizeof opened), PV_EFORMAT);
	notify_set_key(k1);
	/* too long to fit sealed */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(notify_seal_params(big, sealed, sizeof sealed), PV_ELIMIT);
}

static void test_outbox_sqlite(void **state)
{
	store *st = NULL;
	notify_transport *sms = NULL;
	failing mail = {.base = {.name = "failing", .send = failing_send}};
	notify_runtime *rt = NULL;
	notify_config cfg;
	notify_counters c;
	char db[400], url[420], path[400], spec[420], err[128], *data;
	store_outbox m;
	int64_t q, f, id;
	const char *otp = "{\"code\":\"482910\",\"minutes\":10,"
			  "\"purpose\":\"login\"}";

	make_tmpdir();
	snprintf(db, sizeof db, "%s/outbox.db", tmpdir);
	snprintf(url, sizeof url, "sqlite:%s", db);
	snprintf(path, sizeof path, "%s/sqlite-sms.jsonl", tmpdir);
	snprintf(spec, sizeof spec, "file:%s", path);
	unlink(db);
	unlink(path);
	assert_int_equal(store_open(url, &st), PV_OK);
	assert_int_equal(store_migrate(st), PV_OK);
	assert_int_equal(notify_sms_open(spec, NULL, &sms, err, sizeof err), PV_OK);

	/* an enqueue rolled back with its transaction leaves nothing */
	assert_int_equal(store_tx_begin(st), PV_OK);
	assert_int_equal(notify_enqueue(st, "sms", "9876543210", "otp_sms", "en",
					otp, NULL),
			 PV_OK);
	assert_int_equal(store_tx_rollback(st), PV_OK);
	assert_int_equal(store_outbox_stats(st, &q, &f), PV_OK);
	assert_int_equal(q, 0);

	/* three messages queued while no worker runs (as before a restart):
	 * two SMS, one e-mail whose transport always fails */
	assert_int_equal(store_tx_begin(st), PV_OK);
	assert_int_equal(notify_enqueue(st, "sms", "9876543210", "otp_sms", "hi",
					otp, &id),
			 PV_OK);
	assert_true(id > 0);
	assert_int_equal(notify_enqueue(st, "sms", "9012345678", "welcome_sms",
					"en",
					"{\"first_name\":\"Gita\",\"org_name\":"
					"\"DoPT\",\"login_url\":\"https://l\"}",
					NULL),
			 PV_OK);
	assert_int_equal(notify_enqueue(st, "email", "gita@example.com",
					"activation_email", "en",
					"{\"first_name\":\"Gita\",\"link\":"
					"\"https://x/a?token=T\",\"hours\":24}",
					NULL),
			 PV_OK);
	assert_int_equal(store_tx_commit(st), PV_OK);
	notify_kick();
	assert_int_equal(store_outbox_stats(st, &q, &f), PV_OK);
	assert_int_equal(q, 3);
	/* waiting in the outbox, the code and the link are sealed: neither is
	 * in the database's files */
	for (int k = 0; k < 2; k++) {
		char fpath[420];
		size_t n = 0;
		char *bytes;

		snprintf(fpath, sizeof fpath, "%s%s", db, k ? "-wal" : "");
		bytes = slurp_bytes(fpath, &n);
		assert_null(memmem_s(bytes, n, "482910"));
		assert_null(memmem_s(bytes, n, "token=T"));
		free(bytes);
	}

	/* a worker of a dead process holds the first SMS for 300 ms */
	assert_int_equal(store_outbox_claim(st, "dead:1:0", util_now_ms(),
					       300, &m),
			 PV_OK);
	assert_int_equal(m.id, id);
	assert_string_equal(m.template_name, "otp_sms");
	assert_string_equal(m.lang, "hi");

	cfg = (notify_config){.st = st, .templates = *state, .sms = sms,
			      .mail = &mail.base, .workers = 2,
			      .max_attempts = 3, .backoff_ms = 20,
			      .backoff_max_ms = 40, .poll_ms = 20};
	capture_stderr_begin();
	assert_int_equal(notify_start(&cfg, &rt), PV_OK);
	sqlite_wait_idle(st, 1, 10000);
	notify_counters_get(rt, &c);
	notify_stop(rt);
	free(capture_stderr_end());

	assert_int_equal(c.sent[0], 2);
	assert_int_equal(c.sent[1], 0);
	assert_int_equal(c.retried[1], 2);
	assert_int_equal(c.failed[1], 1);
	assert_int_equal(c.failed[0], 0);
	assert_int_equal(mail.calls, 3);
	assert_int_equal(count_lines(path), 2);
	data = read_all(path);
	assert_non_null(strstr(data, "लॉग इन करने के लिए")); /* after the lease */
	assert_non_null(strstr(data, "Dear Gita, DoPT"));
	free(data);
	/* nothing is claimable any more */
	assert_int_equal(store_outbox_claim(st, "w", util_now_ms() + 3600000,
					       1000, &m),
			 PV_ENOTFOUND);

	notify_transport_free(sms);
	store_close(st);
}

/* ---- campaigns on the real SQLite backend ------------------------------- */

/* A transport that records every recipient, slowly (so that a stop falls
 * in the middle of a campaign), failing for two recipients: one worth a
 * retry, one never sendable. */
typedef struct picky {
	notify_transport base;
	pthread_mutex_t mu;
	char seen[8192];
	size_t len;
	int calls;
} picky;

static int picky_send(notify_transport *t, const notify_msg *m, char *err,
		      size_t errlen)
{
	picky *p = (picky *)t;

	usleep(3000);
	pthread_mutex_lock(&p->mu);
	p->calls++;
	if (p->len + strlen(m->to) + 2 < sizeof p->seen)
		p->len += (size_t)snprintf(p->seen + p->len, sizeof p->seen - p->len, "%s|", m->to);
	pthread_mutex_unlock(&p->mu);
	if (strncmp(m->to, "retry", 5) == 0) {
		snprintf(err, errlen, "mailbox busy");
		return PV_EIO;
	}
	if (strncmp(m->to, "never", 5) == 0) {
		snprintf(err, errlen, "no such mailbox");
		return PV_EINVAL;
	}
	if (!strstr(m->text, "Camp Org") || !strstr(m->text, "https://camp/login"))
		return PV_EINVAL; /* the text lacks the campaign's parameters */
	return PV_OK;
}

/* How many times `to` was handed to the transport. */
static int picky_count(picky *p, const char *to)
{
	char key[300];
	int n = 0;

	snprintf(key, sizeof key, "%s|", to);
	pthread_mutex_lock(&p->mu);
	for (const char *q = p->seen; (q = strstr(q, key)); q += strlen(key))
		n += q == p->seen || q[-1] == '|';
	pthread_mutex_unlock(&p->mu);
	return n;
}

static int picky_calls(picky *p)
{
	int n;

	pthread_mutex_lock(&p->mu);
	n = p->calls;
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* users rows [from, to) of upload up, committed with the upload's count */
static void camp_users(store *st, store_upload *up, int from, int to)
{
	store_user u[64];
	int conflicts[64], n = 0;

	for (int row = from; row < to; row++, n++) {
		memset(&u[n], 0, sizeof u[n]);
		assert_int_equal(store_upload_user_id(up, row, u[n].id, sizeof u[n].id), PV_OK);
		snprintf(u[n].first_name, sizeof u[n].first_name, "Gita%c", 'a' + row % 26);
		snprintf(u[n].last_name, sizeof u[n].last_name, "Rao");
		snprintf(u[n].email, sizeof u[n].email, "%s%d@example.com",
			 row == 5 ? "retry" : row == 7 ? "never" : "gita", row);
		snprintf(u[n].mobile, sizeof u[n].mobile, "98765%05u", (unsigned)row % 100000u);
		snprintf(u[n].org_id, sizeof u[n].org_id, "camp-org");
		snprintf(u[n].status, sizeof u[n].status, STORE_USER_ACTIVE);
		snprintf(u[n].source, sizeof u[n].source, "bulk");
		u[n].created_at = 1;
	}
	assert_int_equal(store_tx_begin(st), PV_OK);
	assert_int_equal(store_user_insert_batch(st, u, (size_t)n, conflicts), PV_OK);
	up->success_records += n;
	up->cursor = to - 1;
	assert_int_equal(store_upload_progress(st, up, "job", util_now_ms(), 600000), PV_OK);
	assert_int_equal(store_tx_commit(st), PV_OK);
	notify_kick();
}

static void wait_calls(picky *p, int want, int max_ms)
{
	for (int waited = 0; waited < max_ms; waited += 5) {
		if (picky_calls(p) >= want)
			return;
		usleep(5000);
	}
	fail_msg("%d sends, not %d, within %d ms", picky_calls(p), want, max_ms);
}

static void test_campaign_sqlite(void **state)
{
	store *st = NULL;
	picky sms = {.base = {.name = "picky", .send = picky_send}};
	picky mail = {.base = {.name = "picky", .send = picky_send}};
	notify_runtime *rt = NULL;
	notify_config cfg;
	notify_counters c1, c2;
	store_org o;
	store_upload up;
	store_campaign camp;
	char db[400], url[420], to[64];
	int64_t q, f;
	const char *params = "{\"org_name\":\"Camp Org\",\"login_url\":\"https://camp/login\"}";

	pthread_mutex_init(&sms.mu, NULL);
	pthread_mutex_init(&mail.mu, NULL);
	make_tmpdir();
	snprintf(db, sizeof db, "%s/campaign.db", tmpdir);
	snprintf(url, sizeof url, "sqlite:%s", db);
	unlink(db);
	assert_int_equal(store_open(url, &st), PV_OK);
	assert_int_equal(store_migrate(st), PV_OK);
	memset(&o, 0, sizeof o);
	snprintf(o.id, sizeof o.id, "camp-org");
	snprintf(o.name, sizeof o.name, "Camp Org");
	o.active = 1;
	assert_int_equal(store_org_upsert(st, &o), PV_OK);
	memset(&up, 0, sizeof up);
	snprintf(up.id, sizeof up.id, "camp-up");
	snprintf(up.org_id, sizeof up.org_id, "camp-org");
	snprintf(up.file_name, sizeof up.file_name, "1_x.csv");
	snprintf(up.format, sizeof up.format, "csv");
	snprintf(up.status, sizeof up.status, STORE_UP_IN_PROGRESS);
	snprintf(up.claimed_by, sizeof up.claimed_by, "job");
	up.lease_until = util_now_ms() + 600000;
	assert_int_equal(store_upload_insert(st, &up), PV_OK);

	/* bad arguments; then the campaigns, once each however often asked */
	assert_int_equal(notify_campaign_add(st, up.id, "fax", "welcome_sms", "en", params, 1),
			 PV_EINVAL);
	assert_int_equal(notify_campaign_add(st, up.id, "sms", "Welcome!", "en", params, 1),
			 PV_EINVAL);
	assert_int_equal(notify_campaign_add(st, up.id, "sms", "welcome_sms", "en", "[1]", 1),
			 PV_EINVAL);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(notify_campaign_add(st, up.id, "sms", "welcome_sms", "en", params,
						     util_now_ms()),
				 PV_OK);
		assert_int_equal(notify_campaign_add(st, up.id, "email", "welcome_email", "en",
						     params, util_now_ms()),
				 PV_OK);
	}
	/* the common parameters are sealed */
	assert_int_equal(store_campaign_claim(st, "peek", util_now_ms(), 1, &camp), PV_OK);
	assert_int_equal(strncmp(camp.params, "enc1:", 5), 0);
	assert_null(strstr(camp.params, "camp/login"));
	usleep(2000); /* the peek's lease ends */

	/* the upload's first 30 users (rows 2..31) */
	camp_users(st, &up, 2, 32);
	assert_int_equal(store_outbox_stats(st, &q, &f), PV_OK);
	assert_int_equal(q, 60);

	cfg = (notify_config){.st = st, .templates = *state, .sms = &sms.base,
			      .mail = &mail.base, .workers = 2, .max_attempts = 3,
			      .backoff_ms = 10, .backoff_max_ms = 20, .poll_ms = 10};
	capture_stderr_begin();
	/* stopped half-way (as at a restart), then started again */
	assert_int_equal(notify_start(&cfg, &rt), PV_OK);
	wait_calls(&sms, 10, 10000);
	notify_counters_get(rt, &c1);
	notify_stop(rt);
	assert_true(picky_calls(&sms) < 30);
	assert_int_equal(notify_start(&cfg, &rt), PV_OK);
	wait_calls(&sms, 30, 10000);
	/* the upload goes on: five more users, then it finishes */
	camp_users(st, &up, 40, 45);
	wait_calls(&sms, 35, 10000);
	assert_int_equal(store_upload_finish(st, up.id, STORE_UP_SUCCESSFUL, "", "job",
					     util_now_ms()),
			 PV_OK);
	notify_kick();
	for (int waited = 0;; waited += 10) {
		char *logs = read_all(stderr_path);
		const char *p = strstr(logs, "campaign finished");
		int ends = p && strstr(p + 1, "campaign finished");

		free(logs);
		assert_int_equal(store_outbox_stats(st, &q, &f), PV_OK);
		if (q == 0 && f == 2 && ends)
			break;
		if (waited > 10000)
			fail_msg("campaigns not finished: queued %lld failed %lld", (long long)q,
				 (long long)f);
		usleep(10000);
	}
	notify_counters_get(rt, &c2);
	notify_stop(rt);
	free(capture_stderr_end());

	/* exactly one message per user and channel, through both runs */
	for (int row = 2; row < 45; row++) {
		if (row >= 32 && row < 40)
			continue;
		snprintf(to, sizeof to, "98765%05d", row);
		assert_int_equal(picky_count(&sms, to), 1);
		snprintf(to, sizeof to, "%s%d@example.com",
			 row == 5 ? "retry" : row == 7 ? "never" : "gita", row);
		assert_int_equal(picky_count(&mail, to), row == 5 ? 3 : 1);
	}
	assert_int_equal(picky_calls(&sms), 35);
	assert_int_equal(picky_calls(&mail), 37);
	/* the outbox's accounting: the failed first try of "retry" was
	 * retried twice (3 attempts) and given up; "never" at once. (c1 was
	 * read before the first stop: a send then under way is not in it.) */
	assert_true(c1.sent[0] + c2.sent[0] >= 34 && c1.sent[0] + c2.sent[0] <= 35);
	assert_true(c1.sent[1] + c2.sent[1] >= 32 && c1.sent[1] + c2.sent[1] <= 33);
	assert_int_equal(c2.retried[1] + c2.failed[1] + c1.retried[1] + c1.failed[1] >= 3, 1);
	assert_true(c1.retried[1] + c2.retried[1] <= 2);
	assert_true(c1.failed[1] + c2.failed[1] <= 2);
	assert_int_equal(store_outbox_stats(st, &q, &f), PV_OK);
	assert_true(q == 0 && f == 2);
	/* both campaigns are done: nothing left to claim */
	assert_int_equal(store_campaign_claim(st, "probe", util_now_ms() + 3600000, 1, &camp),
			 PV_ENOTFOUND);
	store_close(st);
	pthread_mutex_destroy(&sms.mu);
	pthread_mutex_destroy(&mail.mu);
}

/* A transport that closes the account of the user it writes to first
 * ("shut..." addresses), as the person might at that moment, and then
 * fails worth a retry; it counts every send. */
typedef struct closer {
	notify_transport base;
	store *st;
	const char *shut_id; /* the user whose account closes */
	atomic_int calls, shut;
} closer;

static int closer_send(notify_transport *t, const notify_msg *m, char *err,
		       size_t errlen)
{
	closer *c = (closer *)t;

	atomic_fetch_add(&c->calls, 1);
	if (strncmp(m->to, "shut", 4) == 0) {
		/* checked by the test: the count, then the user's status */
		if (store_user_close(c->st, c->shut_id, INT64_MAX / 2, util_now_ms()) == PV_OK)
			atomic_fetch_add(&c->shut, 1);
		snprintf(err, errlen, "mailbox busy");
		return PV_EIO;
	}
	return PV_OK;
}

/* A campaign skips the users closed or erased before it reaches them, and
 * keeps no message for a retry to one closed while it was being sent. */
static void test_campaign_closed_users(void **state)
{
	store *st = NULL;
	closer sms = {.base = {.name = "closer", .send = closer_send}};
	closer mail = {.base = {.name = "closer", .send = closer_send}};
	notify_runtime *rt = NULL;
	notify_config cfg;
	store_org o;
	store_upload up;
	store_user u[4];
	store_campaign camp;
	char db[400], url[420];
	int conflicts[4];
	int64_t q, f;
	const char *params = "{\"org_name\":\"Camp Org\",\"login_url\":\"https://camp/login\"}";

	make_tmpdir();
	snprintf(db, sizeof db, "%s/campaign-closed.db", tmpdir);
	snprintf(url, sizeof url, "sqlite:%s", db);
	unlink(db);
	assert_int_equal(store_open(url, &st), PV_OK);
	assert_int_equal(store_migrate(st), PV_OK);
	memset(&o, 0, sizeof o);
	snprintf(o.id, sizeof o.id, "camp-org");
	snprintf(o.name, sizeof o.name, "Camp Org");
	o.active = 1;
	assert_int_equal(store_org_upsert(st, &o), PV_OK);
	memset(&up, 0, sizeof up);
	snprintf(up.id, sizeof up.id, "camp-closed");
	snprintf(up.org_id, sizeof up.org_id, "camp-org");
	snprintf(up.file_name, sizeof up.file_name, "1_x.csv");
	snprintf(up.format, sizeof up.format, "csv");
	snprintf(up.status, sizeof up.status, STORE_UP_IN_PROGRESS);
	snprintf(up.claimed_by, sizeof up.claimed_by, "job");
	up.lease_until = util_now_ms() + 600000;
	assert_int_equal(store_upload_insert(st, &up), PV_OK);
	/* rows 2..5: live, closed, erased, closed while its message is sent */
	for (int i = 0; i < 4; i++) {
		memset(&u[i], 0, sizeof u[i]);
		assert_int_equal(store_upload_user_id(&up, i + 2, u[i].id, sizeof u[i].id), PV_OK);
		snprintf(u[i].first_name, sizeof u[i].first_name, "Gita");
		snprintf(u[i].email, sizeof u[i].email, "%s%d@example.com", i == 3 ? "shut" : "gita", i);
		snprintf(u[i].mobile, sizeof u[i].mobile, "%s%u", i == 3 ? "shut00000" : "987650000",
			 (unsigned)i % 10u);
		snprintf(u[i].org_id, sizeof u[i].org_id, "camp-org");
		snprintf(u[i].status, sizeof u[i].status, STORE_USER_ACTIVE);
		snprintf(u[i].source, sizeof u[i].source, "bulk");
		u[i].created_at = 1;
	}
	assert_int_equal(store_user_insert_batch(st, u, 4, conflicts), PV_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(conflicts[i], 0);
	assert_int_equal(store_user_close(st, u[1].id, INT64_MAX / 2, 2), PV_OK);
	assert_int_equal(store_user_close(st, u[2].id, 3, 2), PV_OK);
	assert_int_equal(store_user_erase(st, u[2].id, 3), PV_OK);
	up.success_records = 4;
	up.cursor = 5;
	assert_int_equal(store_upload_progress(st, &up, "job", util_now_ms(), 600000), PV_OK);
	assert_int_equal(store_upload_finish(st, up.id, STORE_UP_SUCCESSFUL, "", "job",
					     util_now_ms()),
			 PV_OK);
	assert_int_equal(notify_campaign_add(st, up.id, "sms", "welcome_sms", "en", params,
					     util_now_ms()),
			 PV_OK);
	assert_int_equal(notify_campaign_add(st, up.id, "email", "welcome_email", "en", params,
					     util_now_ms()),
			 PV_OK);

	sms.st = mail.st = st;
	sms.shut_id = mail.shut_id = u[3].id;
	cfg = (notify_config){.st = st, .templates = *state, .sms = &sms.base,
			      .mail = &mail.base, .workers = 1, .max_attempts = 3,
			      .backoff_ms = 10, .backoff_max_ms = 20, .poll_ms = 10};
	capture_stderr_begin();
	assert_int_equal(notify_start(&cfg, &rt), PV_OK);
	for (int waited = 0;; waited += 10) {
		char *logs = read_all(stderr_path);
		const char *p = strstr(logs, "campaign finished");
		int ends = p && strstr(p + 1, "campaign finished");

		free(logs);
		if (ends)
			break;
		if (waited > 10000) {
			notify_stop(rt);
			free(capture_stderr_end());
			fail_msg("campaigns not finished");
		}
		usleep(10000);
	}
	notify_stop(rt);
	free(capture_stderr_end());
	assert_int_equal(store_campaign_claim(st, "probe", util_now_ms() + 3600000, 1, &camp),
			 PV_ENOTFOUND);
	/* one message to the live user, one to the account that closed while
	 * it was being sent (which a second channel then skips, or which
	 * failed on both); nothing kept in the outbox */
	assert_int_equal(atomic_load(&sms.calls) + atomic_load(&mail.calls),
			 2 + atomic_load(&sms.shut) + atomic_load(&mail.shut));
	assert_int_equal(atomic_load(&sms.shut) + atomic_load(&mail.shut), 1);
	assert_int_equal(store_user_get(st, u[3].id, &u[0]), PV_OK);
	assert_string_equal(u[0].status, STORE_USER_CLOSED);
	assert_int_equal(store_outbox_stats(st, &q, &f), PV_OK);
	assert_true(q == 0 && f == 0);
	store_close(st);
}

static int group_teardown(void **state)
{
	(void)state;
	if (tmpdir[0])
		rm_rf(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render_en, tpl_setup,
						tpl_teardown),
		cmocka_unit_test_setup_teardown(test_render_hi_and_fallback,
						tpl_setup, tpl_teardown),
		cmocka_unit_test_setup_teardown(test_render_errors, tpl_setup,
						tpl_teardown),
		cmocka_unit_test(test_templates_load_errors),
		cmocka_unit_test(test_mask_and_backoff),
		cmocka_unit_test(test_log_transport),
		cmocka_unit_test(test_file_transports),
		cmocka_unit_test(test_sms_http),
		cmocka_unit_test(test_transport_timeout_bounds),
		cmocka_unit_test(test_seal),
		cmocka_unit_test_setup_teardown(test_smtp_hindi, tpl_setup,
						tpl_teardown),
		cmocka_unit_test(test_smtp_ascii_and_refusal),
		cmocka_unit_test_setup_teardown(test_outbox_workers, tpl_setup,
						tpl_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_counters, tpl_setup,
						tpl_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_sqlite, tpl_setup,
						tpl_teardown),
		cmocka_unit_test_setup_teardown(test_campaign_closed_users, tpl_setup,
						tpl_teardown),
		cmocka_unit_test_setup_teardown(test_campaign_sqlite, tpl_setup,
						tpl_teardown),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL,
					   group_teardown);
}
