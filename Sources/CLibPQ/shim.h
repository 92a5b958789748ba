#ifndef LOCKSTORM_CLIBPQ_SHIM_H
#define LOCKSTORM_CLIBPQ_SHIM_H

#include <libpq-fe.h>

/*
 * libpq's PG_DIAG_* field codes are character macros ('C', 'M', ...), which
 * Swift cannot import. Re-export them as typed constants.
 */
static const int LS_PG_DIAG_SEVERITY = PG_DIAG_SEVERITY;
static const int LS_PG_DIAG_SEVERITY_NONLOCALIZED = PG_DIAG_SEVERITY_NONLOCALIZED;
static const int LS_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE;
static const int LS_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY;
static const int LS_PG_DIAG_MESSAGE_DETAIL = PG_DIAG_MESSAGE_DETAIL;
static const int LS_PG_DIAG_MESSAGE_HINT = PG_DIAG_MESSAGE_HINT;
static const int LS_PG_DIAG_STATEMENT_POSITION = PG_DIAG_STATEMENT_POSITION;
static const int LS_PG_DIAG_CONTEXT = PG_DIAG_CONTEXT;
static const int LS_PG_DIAG_SCHEMA_NAME = PG_DIAG_SCHEMA_NAME;
static const int LS_PG_DIAG_TABLE_NAME = PG_DIAG_TABLE_NAME;
static const int LS_PG_DIAG_CONSTRAINT_NAME = PG_DIAG_CONSTRAINT_NAME;

#endif
