/**
 * cadre.h — the whole public API. Include this one header.
 *
 * Modules: base (errors, slices, arena, buffers, logging) < json (reader, writer) < http (parser,
 * server, requests, responses) < app (routes, command line, test client).
 */
#ifndef CADRE_H
#define CADRE_H

#include "cadre/base.h"
#include "cadre/json.h"
#include "cadre/schema.h"
#include "cadre/form.h"
#include "cadre/db.h"
#include "cadre/orm.h"
#include "cadre/migrate.h"
#include "cadre/template.h"
#include "cadre/http.h"
#include "cadre/websocket.h"
#include "cadre/app.h"
#include "cadre/static.h"
#include "cadre/auth.h"
#include "cadre/admin.h"
#include "cadre/tasks.h"

#define CADRE_VERSION "0.1.0"

#endif
