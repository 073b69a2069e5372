/* cli: what the command line's files share (main.c, cli_import.c). */
#ifndef PV_CLI_H
#define PV_CLI_H

#include <stddef.h>

#include "config.h"
#include "core/keys.h"

/* pravesh import (cli_import.c). */
int cmd_import(pv_config *cfg, const char **pos, size_t npos);

/* Gives the outbox its sealing key, derived from the server key (main.c). */
void main_outbox_key(const keys *k);

#endif
