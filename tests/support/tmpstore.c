#include "tmpstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"

int tmpstore_open(char *dir, size_t dcap, char *path, size_t pcap, store **st)
{
	char url[256];

	*st = NULL;
	if ((size_t)snprintf(dir, dcap, "/tmp/pv-test-XXXXXX") >= dcap || !mkdtemp(dir))
		return -1;
	if ((size_t)snprintf(path, pcap, "%s/pravesh.db", dir) >= pcap)
		return -1;
	snprintf(url, sizeof url, "sqlite:%s", path);
	if (store_open(url, st) != PV_OK || store_migrate(*st) != PV_OK)
		return -1;
	return 0;
}

void tmpstore_rm_db(const char *path)
{
	char p[512];

	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

void tmpstore_remove(store *st, const char *dir, const char *path)
{
	store_close(st);
	tmpstore_rm_db(path);
	rmdir(dir);
}

int tmpstore_org(store *st, const char *id, const char *name, int64_t at)
{
	store_org o;

	memset(&o, 0, sizeof o);
	snprintf(o.id, sizeof o.id, "%s", id);
	snprintf(o.name, sizeof o.name, "%s", name);
	snprintf(o.sector, sizeof o.sector, "center");
	snprintf(o.type, sizeof o.type, "ministry");
	o.active = 1;
	o.created_at = o.updated_at = at;
	return store_org_upsert(st, &o);
}
