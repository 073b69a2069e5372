#!/usr/bin/env python3
"""Writes docs/openapi.json, the OpenAPI 3.1 description the server embeds
and serves at /api/openapi.json. Edit this file when an endpoint changes,
run it, and commit both (tests/api check that every route is described and
that this writes the committed file)."""
import json
import os
import sys

PROB = {"$ref": "#/components/responses/Problem"}


def op(summary, params=None, responses=None, tags=None, body=None, auth=False, desc=None):
    o = {"summary": summary, "responses": dict(responses or {"200": {"description": "OK"}})}
    if desc:
        o["description"] = desc
    if params:
        o["parameters"] = params
    if body:
        o["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if tags:
        o["tags"] = tags
    o["security"] = [{"bearer": []}, {"cookie": []}] if auth else []
    o["responses"].setdefault("default", PROB)
    return o


def q(name, desc, required=False, schema=None):
    return {"name": name, "in": "query", "required": required, "description": desc,
            "schema": schema or {"type": "string"}}


def p(name, desc):
    return {"name": name, "in": "path", "required": True, "description": desc, "schema": {"type": "string"}}


def obj(props, required=None):
    o = {"type": "object", "properties": props}
    if required:
        o["required"] = required
    return o


def js(schema, desc="OK"):
    return {"description": desc, "content": {"application/json": {"schema": schema}}}


S = {"type": "string"}
I = {"type": "integer"}
B = {"type": "boolean"}
REF = lambda n: {"$ref": f"#/components/schemas/{n}"}

org = obj({
    "id": S, "name": S, "sector": {"type": "string", "enum": ["center", "state"]}, "type": S,
    "parent_id": {"type": ["string", "null"]},
    "path": {"type": "array", "items": obj({"id": S, "name": S}), "description": "ancestors, root first"},
    "under": {"type": "string", "description": "the path's names joined with ' > ', empty for a root"},
    "children": {"type": "integer", "description": "only on GET /api/v1/orgs/{id}"}},
    ["id", "name", "sector", "type", "parent_id", "path", "under"])
user = obj({
    "id": S, "first_name": S, "last_name": S, "email": S, "official_email": B, "mobile": S,
    "status": {"type": "string", "enum": ["pending_activation", "active", "inactive"]},
    "pending_email": {"type": ["object", "null"], "description": "GET /me and the /me changes: an e-mail change waiting for its link",
                      "properties": {"email": S, "expires_at": {"type": "string", "format": "date-time"}}},
    "org": {"type": ["object", "null"], "properties": {"id": S, "name": S, "under": S}},
    "position": {"type": ["object", "null"], "properties": {"id": S, "name": S}},
    "roles": {"type": "array", "items": obj({"role": {"type": "string", "enum": ["spv_admin", "mdo_admin"]}, "org_id": S})},
    "created_at": {"type": "string", "format": "date-time"}})
login = js(obj({"token": S, "csrf_token": S, "user": REF("User")}),
           "logged in; also sets the cookies pravesh_session (HttpOnly) and pravesh_csrf")
mobile = {"type": "string", "description": "an Indian mobile number in any usual form (+91, 0, spaces, hyphens)"}

paths = {
    "/healthz": {"get": op("Health: 200 when the store answers; 503 store_unavailable when it does not, 503 stopping (Retry-After: 1) once the server is stopping",
                           responses={"200": js(obj({"status": {"const": "ok"}})), "503": PROB}, tags=["operations"])},
    "/metrics": {"get": op("Prometheus metrics: requests by route and status, latency histograms, OTPs, outbox. Served only on the separate listener PRAVESH_METRICS_LISTEN (an internal interface); 404 on the public listener",
                           responses={"200": {"description": "text exposition format", "content": {"text/plain": {}}}},
                           tags=["operations"])},
    "/api/openapi.json": {"get": op("This document", tags=["operations"])},
    "/api/v1/orgs": {"get": op(
        "Search organisations by word prefix",
        desc="Every query word must start a word of the name (case-insensitive). Best first: exact name, then name prefix, then word prefix; shallower before deeper; then alphabetical. Only active organisations.",
        params=[q("q", "search text, at least 2 characters, at most 200 bytes", True),
                q("sector", "center or state", schema={"type": "string", "enum": ["center", "state"]}),
                q("limit", "1-100, default 20", schema={"type": "integer", "minimum": 1, "maximum": 100})],
        responses={"200": js(obj({"items": {"type": "array", "items": REF("Org")}})), "400": PROB}, tags=["directory"])},
    "/api/v1/orgs/{id}": {"get": op("One active organisation, with its number of children",
                                    params=[p("id", "organisation id (directory key)")],
                                    responses={"200": js(REF("Org")), "404": PROB}, tags=["directory"])},
    "/api/v1/positions": {"get": op("Search active positions by word prefix",
                                    params=[q("q", "search text, at least 2 characters", True),
                                            q("limit", "1-100, default 20", schema=I)],
                                    responses={"200": js(obj({"items": {"type": "array", "items": obj({"id": S, "name": S})}})),
                                               "400": PROB}, tags=["directory"])},
    "/api/v1/otp": {"post": op(
        "Send a one-time password by SMS",
        desc="The answer never tells whether the number is registered. For purpose login the SMS goes only to registered numbers; for register, a registered number's owner gets an SMS saying the number is already registered instead of a code. Purposes change_mobile (the new number) and erasure (the user's own number; another number gets nothing) need a logged-in user: this anonymous route reads the session itself (401 without one; cookie sessions need X-CSRF-Token); change_mobile works like register (a taken number's owner is told instead). Limits, counted per client address first: codes per address per hour; one code per number and purpose per resend window, per-hour and per-day caps per number from one address; per-hour and per-day caps per number in all; 429 with Retry-After.",
        body=obj({"mobile": mobile, "purpose": {"type": "string", "enum": ["register", "request", "login", "change_mobile", "erasure"]},
                  "lang": {"type": "string", "enum": ["en", "hi"]}}, ["mobile", "purpose"]),
        responses={"202": js(obj({"mobile": S, "expires_in": I, "resend_in": I})), "400": PROB, "401": PROB, "429": PROB},
        tags=["otp"])},
    "/api/v1/otp/verify": {"post": op(
        "Verify a code; returns a single-use verification token (15 minutes) for registration, a request, a change of mobile or closing the account",
        desc="Purposes change_mobile and erasure need the logged-in user (401 without) and their token is bound to that user.",
        body=obj({"mobile": mobile, "purpose": {"type": "string", "enum": ["register", "request", "change_mobile", "erasure"]}, "code": S},
                 ["mobile", "purpose", "code"]),
        responses={"200": js(obj({"verification_token": S, "expires_in": I})),
                   "400": {"description": "otp_invalid (with attempts_left) or otp_expired",
                           "content": {"application/problem+json": {"schema": REF("Problem")}}},
                   "429": PROB}, tags=["otp"])},
    "/api/v1/auth/otp": {"post": op(
        "Log in with mobile number and code",
        desc="A wrong code answers 401 login_failed with attempts_left (the same for registered and unknown numbers); the try that kills the code answers 429 otp_locked with Retry-After: a new code is needed. Too many failed logins for the number: 429 rate_limited.",
        body=obj({"mobile": mobile, "code": S}, ["mobile", "code"]),
        responses={"200": login, "401": {"description": "login_failed, with attempts_left when a live code was wrong",
                                         "content": {"application/problem+json": {"schema": REF("Problem")}}},
                   "403": PROB, "429": PROB}, tags=["sessions"])},
    "/api/v1/auth/password": {"post": op(
        "Administrators' login, first step: username and password",
        desc="Throttled per client address first (10 attempts an hour; a success gives its attempt back), then per username (50 failures an hour lock it). With the second factor on (PRAVESH_ADMIN_SECOND_FACTOR=sms, the default) a right pair answers a challenge and a 6-digit code goes by SMS to the administrator's registered mobile; no session yet. With it off, the answer is the login itself.",
        body=obj({"username": S, "password": S}, ["username", "password"]),
        responses={"200": {"description": "a challenge (second factor on) or the login (off)",
                           "content": {"application/json": {"schema": {"oneOf": [
                               obj({"second_factor": {"const": "sms"}, "challenge": S, "expires_in": I,
                                    "mobile_hint": {"type": "string", "description": "e.g. ******3210"}}),
                               obj({"token": S, "csrf_token": S, "user": REF("User")})]}}}},
                   "401": PROB, "429": PROB}, tags=["sessions"])},
    "/api/v1/auth/password/otp": {"post": op(
        "Administrators' login, second step: the code sent by SMS",
        desc="Wrong code: 401 login_failed with attempts_left. The third wrong code, an expired, used or unknown challenge: 401 login_failed with attempts_left 0 and restart true: the password step must be done again. Only a session made here has the administrator's roles active.",
        body=obj({"challenge": S, "code": S}, ["challenge", "code"]),
        responses={"200": login, "401": PROB, "429": PROB}, tags=["sessions"])},
    "/api/v1/auth/logout": {"post": op("End the session (revoked server-side); clears the cookies",
                                       responses={"204": {"description": "logged out"}, "401": PROB, "403": PROB},
                                       tags=["sessions"], auth=True)},
    "/api/v1/me": {"get": op("The logged-in user", responses={"200": js(REF("User")), "401": PROB},
                             tags=["sessions"], auth=True)},
    "/api/v1/site": {"get": op(
        "What the pages need to know about the site: the learning platform a logged-in user goes on to, "
        "the help contact, the grievance officer, the retention periods",
        desc="learning_url is PRAVESH_LEARNING_URL when it is an http(s) URL, else null; help.url is "
             "PRAVESH_HELP_URL (an http(s) URL), else help.email is PRAVESH_HELP_EMAIL.",
        responses={"200": js(obj({"learning_url": {"type": ["string", "null"]},
                                  "help": obj({"url": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]}}),
                                  "grievance_email": {"type": ["string", "null"]}, "erasure_grace_days": I,
                                  "upload_retention_days": I, "message_retention_days": I,
                                  "audit_retention_days": I}, ["learning_url"]))},
        tags=["operations"])},
    "/api/v1/sso": {"get": op(
        "Whether single sign-on (Parichay) is configured, for the login page's button",
        responses={"200": js(obj({"enabled": B, "name": S}, ["enabled", "name"]))}, tags=["sso"])},
    "/auth/sso/parichay": {"get": op(
        "Start an official e-mail login through single sign-on",
        desc="A browser navigation, not an API call. Redirects (302) to the identity provider's authorization endpoint (authorization code flow with PKCE S256, state and nonce) and sets the HttpOnly cookie pravesh_sso that binds the state to this browser for at most 10 minutes. When the provider cannot be reached: 302 to /login?error=sso_failed. See docs/sso.md.",
        responses={"302": {"description": "to the provider, or to /login?error=sso_failed"}, "404": PROB},
        tags=["sso"])},
    "/auth/sso/parichay/callback": {"get": op(
        "Where the identity provider sends the browser back",
        desc="Only code and state are read (an error parameter from the provider makes the login fail). The state must be the one this browser started with and is spent whatever happens. On success: the session cookies and 302 to /. Otherwise 302 to /login?error=sso_not_registered (no user with an official e-mail equal to the verified one, case-insensitive), sso_inactive (the user is not active) or sso_failed (anything else; the server log says why).",
        params=[q("code", "authorization code from the provider"), q("state", "the state of the login attempt")],
        responses={"302": {"description": "to / with the session cookies, or to /login?error=..."}, "404": PROB},
        tags=["sso"])},
    "/api/v1/registrations": {"post": op(
        "Self-registration (the SOP's Register screen)",
        desc="The mobile number is proven by a verification token (POST /api/v1/otp/verify, purpose register). Any valid e-mail is accepted; it is flagged official when its domain is one of the official domains. The user starts pending_activation; an activation link is e-mailed. All field errors are listed at once.",
        body=obj({"first_name": S, "last_name": S, "position_id": S, "email": S, "mobile": mobile,
                  "verification_token": S, "org_id": S, "declaration": B, "terms": B,
                  "terms_version": {"type": "string", "description": "the version of the terms the page showed (GET /api/v1/legal/terms); absent: the current one in the request's language; a version no longer current: 400 text_outdated"},
                  "privacy_version": {"type": "string", "description": "the same for the privacy notice"},
                  "lang": {"type": "string", "enum": ["en", "hi"]}},
                 ["first_name", "last_name", "position_id", "email", "mobile", "verification_token", "org_id",
                  "declaration", "terms"]),
        responses={"201": js(obj({"user_id": S, "status": {"const": "pending_activation"}, "official_email": B})),
                   "400": PROB, "409": PROB}, tags=["registration"])},
    "/api/v1/activation": {"post": op("Activate an account with the token of the e-mailed link",
                                      body=obj({"token": S}, ["token"]),
                                      responses={"200": js(obj({"status": {"const": "active"}})), "400": PROB},
                                      tags=["registration"])},
    "/api/v1/activation/resend": {"post": op(
        "Send the activation link again (202 whatever the address: no account enumeration; at most 3 an hour)",
        body=obj({"email": S}, ["email"]), responses={"202": js(obj({}))}, tags=["registration"])},
    "/api/v1/requests": {"post": op(
        "Request a new position or organisation (\"Request for help\")",
        desc="The mobile number is proven by a verification token (purpose request). A pending request of the same kind and name (case-insensitive) is not duplicated: 200 with the existing one.",
        body=obj({"kind": {"type": "string", "enum": ["position", "organisation"]}, "full_name": S, "email": S,
                  "mobile": mobile, "verification_token": S, "name": S, "details": S,
                  "sector": {"type": "string", "enum": ["center", "state"]}, "parent_id": S, "declaration": B},
                 ["kind", "full_name", "email", "mobile", "verification_token", "name", "declaration"]),
        responses={"201": js(obj({"id": S, "kind": S, "status": {"const": "pending"}})),
                   "200": js(obj({"id": S, "kind": S, "status": S}), "the existing pending request"),
                   "400": PROB}, tags=["registration"])},
    "/api/v1/admin/requests": {"get": op(
        "Requests, oldest first (spv_admin)",
        params=[q("status", "pending, approved or rejected"), q("kind", "position or organisation"),
                q("page", "from 1", schema=I), q("per_page", "1-100, default 20", schema=I)],
        responses={"200": js(REF("RequestList")), "400": PROB, "401": PROB, "403": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/requests/{id}/approve": {"post": op(
        "Approve: creates the position or organisation (searchable at once) and tells the requester by SMS and e-mail",
        params=[p("id", "request id")],
        body=obj({"name": S, "sector": {"type": "string", "enum": ["center", "state"]}, "type": S, "parent_id": S}),
        responses={"200": js(REF("Request")), "400": PROB, "404": PROB, "409": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/requests/{id}/reject": {"post": op(
        "Reject with a reason; the requester is told by SMS and e-mail",
        params=[p("id", "request id")], body=obj({"reason": S}, ["reason"]),
        responses={"200": js(REF("Request")), "400": PROB, "404": PROB, "409": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/orgs": {"get": op(
        "Browse the directory, inactive organisations included: the children of parent_id (none: the roots), or with q a search by name",
        params=[q("parent_id", "organisation id"), q("q", "part of a name (at most 200 bytes)"),
                q("status", "active, inactive or all (default)"), q("page", "from 1", schema=I), q("per_page", "1-100", schema=I)],
        responses={"200": js(obj({"items": {"type": "array", "items": REF("AdminOrg")}, "total": I, "page": I, "per_page": I,
                                  "parent": {"type": ["object", "null"], "properties": {"id": S, "name": S, "under": S}}})),
                   "400": PROB, "404": PROB}, tags=["spv"], auth=True),
        "post": op(
        "Add an organisation", body=obj({"name": S, "sector": {"type": "string", "enum": ["center", "state"]},
                                         "type": S, "parent_id": S}, ["name", "sector", "type"]),
        responses={"201": js(obj({"id": S, "name": S, "sector": S, "type": S, "parent_id": {"type": ["string", "null"]}})),
                   "400": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/positions": {"get": op(
        "Browse the positions, inactive ones included, by name",
        params=[q("q", "part of a name"), q("status", "active, inactive or all (default)"),
                q("page", "from 1", schema=I), q("per_page", "1-100", schema=I)],
        responses={"200": js(obj({"items": {"type": "array", "items": obj({"id": S, "name": S, "active": B})},
                                  "total": I, "page": I, "per_page": I})), "400": PROB}, tags=["spv"], auth=True),
        "post": op(
        "Add a position", body=obj({"name": S}, ["name"]),
        responses={"201": js(obj({"id": S, "name": S})), "400": PROB, "409": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/mdo-admins": {"get": op(
        "The MDO administrators: one row per role, by organisation name, then last and first name",
        params=[q("q", "part of a name, e-mail, mobile or username"), q("org_id", "one organisation"),
                q("status", "active, inactive or pending_activation"),
                q("page", "from 1", schema=I), q("per_page", "1-100", schema=I)],
        responses={"200": js(obj({"items": {"type": "array", "items": REF("Admin")}, "total": I, "page": I,
                                  "per_page": I})), "400": PROB}, tags=["spv"], auth=True),
        "post": op(
        "Create an MDO administrator: an active user of the organisation with role mdo_admin and a password (at least 12 characters)",
        body=obj({"org_id": S, "username": S, "password": S, "first_name": S, "last_name": S, "email": S,
                  "mobile": mobile}, ["org_id", "username", "password", "first_name", "last_name", "email", "mobile"]),
        responses={"201": js(REF("User")), "400": PROB, "409": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/audit": {"get": op(
        "The audit log, newest first, as people read it",
        desc="Uploads through `pravesh import` appear without an actor and with detail.via = cli.",
        params=[q("action", "one action (approve, reject, create_org, update_org, create_position, update_position, create_admin, activate, deactivate, upload, update_profile, change_mobile, request_email_change, change_email, close_account, erase_account)"),
                q("actor", "a username (case-insensitive); unknown: an empty list"),
                q("from", "RFC 3339 time, inclusive", schema={"type": "string", "format": "date-time"}),
                q("to", "RFC 3339 time, exclusive", schema={"type": "string", "format": "date-time"}),
                q("page", "from 1", schema=I), q("per_page", "1-100", schema=I)],
        responses={"200": js(obj({"items": {"type": "array", "items": obj({
            "id": I, "at": {"type": "string", "format": "date-time"}, "action": S,
            "actor_id": {"type": "string", "description": "as recorded; empty for the command line"},
            "actor": {"type": ["object", "null"], "properties": {"id": S, "name": S, "username": S}},
            "target": {"type": "string", "description": "the id as recorded"},
            "target_kind": {"type": "string", "enum": ["request", "organisation", "position", "user", "upload", ""]},
            "target_name": S,
            "client_ip": S, "detail": {"type": "object"},
            "names": {"type": "object", "additionalProperties": S, "description": "names of the organisation and position ids in detail"}})},
            "total": I, "page": I, "per_page": I})), "400": PROB},
        tags=["spv"], auth=True)},
    "/api/v1/admin/mdo-admins/{id}/status": {"post": op(
        "Activate or deactivate an MDO administrator (only an SPV administrator may); deactivation ends their sessions",
        params=[p("id", "user id")], body=obj({"status": {"type": "string", "enum": ["active", "inactive"]}}, ["status"]),
        responses={"200": js(REF("Admin")), "400": PROB, "403": PROB, "404": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/org-types": {"get": op(
        "The organisation types to choose from: the usual ones and every type in use",
        responses={"200": js(obj({"items": {"type": "array", "items": S}}))}, tags=["spv"], auth=True)},
    "/api/v1/admin/orgs/{id}": {"patch": op(
        "Rename, move, change sector or type, deactivate or reactivate an organisation",
        desc="Fields left out stay. parent_id null or \"\" makes a root; a new parent must be an active organisation. 409 org_cycle: under itself or below itself; 409 org_has_children: deactivation while an active organisation is under it; 409 org_parent_inactive: it would be active under an inactive organisation. Audited (update_org).",
        params=[p("id", "organisation id")],
        body=obj({"name": S, "sector": {"type": "string", "enum": ["center", "state"]}, "type": S,
                  "parent_id": {"type": ["string", "null"]}, "active": B}),
        responses={"200": js(REF("AdminOrg")), "400": PROB, "404": PROB, "409": PROB}, tags=["spv"], auth=True)},
    "/api/v1/admin/positions/{id}": {"patch": op(
        "Rename, deactivate or reactivate a position (409 position_exists); audited (update_position)",
        params=[p("id", "position id")], body=obj({"name": S, "active": B}),
        responses={"200": js(obj({"id": S, "name": S, "active": B})), "400": PROB, "404": PROB, "409": PROB},
        tags=["spv"], auth=True)},
    "/api/v1/mdo/users": {"get": op(
        "The organisation's users, newest first (mdo_admin; spv_admin adds ?org_id=)",
        desc="q is a mobile number (the one user with it), an e-mail address (the one user with it, "
             "case-insensitive), or words that each start a word of the first or last name. Pages by "
             "number (page) or by cursor (after=the previous answer's next), which stays fast however "
             "deep. A name search counts at most 1,000 matches (total_exact false beyond).",
        params=[q("org_id", "organisation (spv_admin; an mdo_admin of several)"),
                q("status", "active, inactive, pending_activation, closed or erased"),
                q("q", "a mobile number, an e-mail address (live users only: a closed or erased user holds neither), "
                       "or the starts of name words"),
                q("page", "from 1 (not with after)", schema=I),
                q("after", "the next of an earlier answer to the same query: the page after it"),
                q("per_page", "1-100", schema=I)],
        responses={"200": js(obj({"items": {"type": "array", "items": REF("UserRow")}, "total": I,
                                  "total_exact": {"type": "boolean", "description":
                                                  "false when a name search matched more than total"},
                                  "page": {"type": ["integer", "null"], "description": "null with after"},
                                  "per_page": I,
                                  "next": {"type": ["string", "null"], "description":
                                           "opaque cursor of the next page (after=), null on the last"}})),
                   "400": PROB, "403": PROB}, tags=["mdo"], auth=True)},
    "/api/v1/mdo/users/{id}/status": {"post": op(
        "Activate or deactivate a user of the organisation; deactivation ends their sessions at once",
        params=[p("id", "user id"), q("org_id", "organisation (spv_admin)")],
        body=obj({"status": {"type": "string", "enum": ["active", "inactive"]}}, ["status"]),
        responses={"200": js(REF("UserRow")), "400": PROB, "404": PROB,
                   "409": {"description": "account_closed: the user closed their account",
                           "content": {"application/problem+json": {"schema": REF("Problem")}}}},
        tags=["mdo"], auth=True)},
}

# The user's own data (December 2026; DPDP Act 2023)
TIME = {"type": "string", "format": "date-time"}
me_user = js(REF("User"), "the user as GET /api/v1/me shows it now")
paths["/api/v1/me"]["patch"] = op(
    "Change one's names and position",
    desc="Members absent stay as they are; present ones follow the registration's field rules (required, invalid_name, unknown_position), every error at once. Audited (update_profile). Limited with the other /me changes (PRAVESH_SELF_PER_HOUR, 429).",
    body=obj({"first_name": S, "last_name": S, "position_id": S}),
    responses={"200": me_user, "400": PROB, "401": PROB, "403": PROB, "429": PROB}, tags=["me"], auth=True)
paths.update({
    "/api/v1/me/mobile": {"post": op(
        "Change one's mobile number, proven by a code sent to the new number",
        desc="The verification token comes from POST /api/v1/otp and /otp/verify with purpose change_mobile for the new number, in the same user's session. The old number gets an SMS saying it was replaced. 409 mobile_taken when another user has the number (the token stays usable).",
        body=obj({"mobile": mobile, "verification_token": S}, ["mobile", "verification_token"]),
        responses={"200": me_user, "400": PROB, "401": PROB, "409": PROB, "429": PROB}, tags=["me"], auth=True)},
    "/api/v1/me/email": {"post": op(
        "Ask to change one's e-mail address",
        desc="A confirmation link <public URL>/confirm-email?token=... goes to the new address (24 hours, single use) and a notice to the old one; nothing changes until the link is used (by the same user, logged in). 400 invalid_email or email_unchanged, 409 email_taken, 429 past PRAVESH_EMAIL_CHANGE_PER_DAY.",
        body=obj({"email": S}, ["email"]),
        responses={"202": js(obj({"status": {"const": "confirmation_sent"}, "expires_in": I})), "400": PROB, "401": PROB,
                   "409": PROB, "429": PROB}, tags=["me"], auth=True)},
    "/api/v1/me/email/confirm": {"post": op(
        "Use the confirmation link's token: the e-mail becomes the new address, proven",
        body=obj({"token": S}, ["token"]),
        responses={"200": me_user, "400": {"description": "token_invalid: unknown, used, expired, or another user's",
                                           "content": {"application/problem+json": {"schema": REF("Problem")}}},
                   "401": PROB, "409": PROB}, tags=["me"], auth=True)},
    "/api/v1/me/data": {"get": op(
        "Everything Pravesh holds about the user (DPDP Act 2023, s.11), as a JSON attachment",
        desc="The audit names who acted only as self, administrator or system.",
        responses={"200": {"description": "Content-Disposition: attachment", "content": {"application/json": {"schema": obj({
            "generated_at": TIME,
            "user": {"allOf": [REF("User"), obj({"source": S, "email_verified": B, "updated_at": TIME,
                                                 "username": {"type": ["string", "null"]}})]},
            "pending_email": {"type": ["object", "null"], "properties": {"email": S, "expires_at": TIME}},
            "consents": {"type": "array", "items": obj({"kind": {"type": "string", "enum": ["declaration", "terms", "privacy"]},
                                                       "text_version": S, "given_at": TIME, "ip": S})},
            "sessions": {"type": "array", "items": obj({"created_at": TIME, "last_seen_at": TIME, "expires_at": TIME,
                                                       "ip": S, "ended": B, "current": B})},
            "requests": {"type": "array", "items": REF("Request")},
            "uploads_including_me": {"type": "array", "items": obj({"upload_id": S, "org_id": S, "created_at": TIME})},
            "audit": {"type": "array", "items": obj({"at": TIME, "action": S,
                                                    "actor": {"type": "string", "enum": ["self", "administrator", "system"]}})},
            "audit_truncated": B})}}},
            "401": PROB, "429": PROB}, tags=["me"], auth=True)},
    "/api/v1/me/erasure": {"post": op(
        "Close one's account; its data is erased after PRAVESH_ERASURE_GRACE_DAYS",
        desc="The verification token comes from POST /api/v1/otp and /otp/verify with purpose erasure for the user's own number. Every session ends at once (the cookies are cleared) and the account answers everywhere as an unknown one; after the grace period (default 30 days; 0: the next sweep) names, e-mail, mobile, consent addresses, sessions, codes, messages and request contact details are erased. The same e-mail and mobile can register again at once.",
        body=obj({"verification_token": S}, ["verification_token"]),
        responses={"202": js(obj({"status": {"const": "closing"}, "erase_after": TIME})), "400": PROB, "401": PROB,
                   "429": PROB}, tags=["me"], auth=True)},
    "/api/v1/legal/{doc}": {"get": op(
        "The terms of service (terms) or the privacy notice (privacy), rendered from the operator's template files",
        desc="text is a small subset of Markdown: '# ' and '## ' headings, '- ' list items, blank lines between paragraphs, <https://...> and <mailto:...> links. version changes whenever the text does; the registration records it.",
        params=[p("doc", "terms or privacy"), q("lang", "en or hi (default: Accept-Language)")],
        responses={"200": js(obj({"doc": S, "version": S, "lang": S, "text": S})), "404": PROB}, tags=["me"])},
})

upload = obj({
    "id": S, "file_name": {"type": "string", "description": "<milliseconds since epoch>_<safe original name>"},
    "original_name": {"type": "string", "description": "the name as the administrator uploaded it (what the pages show)"},
    "format": {"type": "string", "enum": ["csv", "xlsx"]},
    "status": {"type": "string", "enum": ["QUEUED", "IN_PROGRESS", "SUCCESSFUL", "FAILED"]},
    "failed_records": I, "success_records": I,
    "total_records": {"type": "integer", "description": "data rows of the file (known once processing starts)"},
    "error": {"type": ["string", "null"], "description": "why the whole upload failed (unreadable file, missing column, no data rows)"},
    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
    "files_removed_at": {"type": ["string", "null"], "format": "date-time",
                         "description": "when PRAVESH_UPLOAD_RETENTION_DAYS removed the file and the result (then 410 files_removed)"}},
    ["id", "file_name", "original_name", "status", "failed_records", "success_records", "total_records", "error", "created_at",
     "updated_at"])
ORGQ = q("org_id", "organisation (spv_admin; an mdo_admin of several)")
FILE_RESP = lambda d: {"description": d, "content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}}
paths.update({
    "/api/v1/mdo/uploads/template": {"get": op(
        "The bulk upload template (First Name, Last Name, Email Id, Mobile Number) as an attachment",
        params=[q("format", "csv (default) or xlsx"), ORGQ],
        responses={"200": FILE_RESP("the template"), "400": PROB}, tags=["mdo"], auth=True)},
    "/api/v1/mdo/uploads": {
        "post": dict(op(
            "Upload a CSV or XLSX file of users; processed in the background",
            desc="multipart/form-data with the file in field `file`, streamed to disk. The format is decided by content.",
            params=[ORGQ],
            responses={"202": js(REF("Upload"), "queued"), "400": PROB, "403": PROB, "413": PROB, "415": PROB},
            tags=["mdo"], auth=True),
            requestBody={"required": True, "content": {"multipart/form-data": {"schema": obj(
                {"file": {"type": "string", "format": "binary"}}, ["file"])}}}),
        "get": op("The organisation's uploads, newest first",
                  params=[ORGQ, q("page", "from 1", schema=I), q("per_page", "1-100", schema=I)],
                  responses={"200": js(obj({"items": {"type": "array", "items": REF("Upload")}, "total": I,
                                            "page": I, "per_page": I})), "400": PROB, "403": PROB},
                  tags=["mdo"], auth=True)},
    "/api/v1/mdo/uploads/{id}": {"get": op(
        "One upload; counts are live while it runs", params=[p("id", "upload id"), ORGQ],
        responses={"200": js(REF("Upload")), "404": PROB}, tags=["mdo"], auth=True)},
    "/api/v1/mdo/uploads/{id}/file": {"get": op(
        "The file as uploaded", params=[p("id", "upload id"), ORGQ],
        responses={"200": FILE_RESP("the uploaded file"), "404": PROB, "410": PROB}, tags=["mdo"], auth=True)},
    "/api/v1/mdo/uploads/{id}/result": {"get": op(
        "The uploaded rows with Status and Error Details, in the uploaded format",
        params=[p("id", "upload id"), ORGQ],
        responses={"200": FILE_RESP("the result file"), "404": PROB, "410": PROB,
                   "409": {"description": "not_finished while it runs; no_result when the upload failed as a whole",
                           "content": {"application/problem+json": {"schema": REF("Problem")}}}},
        tags=["mdo"], auth=True)},
})

request = obj({"id": S, "kind": S, "full_name": S, "email": S, "mobile": S, "name": S, "details": S, "sector": S,
               "parent_id": S, "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
               "reason": S, "created_id": S, "created_at": {"type": "string", "format": "date-time"},
               "decided_at": {"type": ["string", "null"], "format": "date-time"}})
user_row = obj({"id": S, "first_name": S, "last_name": S, "email": S, "official_email": B, "mobile": S,
                "status": {"type": "string", "enum": ["pending_activation", "active", "inactive", "closed", "erased"],
                           "description": "closed: its owner closed it (no contact details shown); erased: only id, organisation and times remain"},
                "source": {"type": "string", "enum": ["self", "bulk", "admin"]}, "org_id": S,
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "erase_after": {"type": ["string", "null"], "format": "date-time"}})

doc = {
    "openapi": "3.1.0",
    "info": {"title": "Pravesh API", "version": "1",
             "description": "Registration and login of the civil-servant learning platform. Errors are RFC 9457 problem details (application/problem+json) with a stable `code` and, for validation, an `errors` array of field errors. Cookie-authenticated unsafe requests must send X-CSRF-Token equal to the pravesh_csrf cookie."},
    "servers": [{"url": "/"}],
    "paths": paths,
    "components": {
        "schemas": {"Admin": obj({"id": S, "first_name": S, "last_name": S, "email": S, "mobile": S,
                                  "status": S, "username": S,
                                  "org": {"type": ["object", "null"], "properties": {"id": S, "name": S, "under": S}},
                                  "last_login_at": {"type": ["string", "null"], "format": "date-time"},
                                  "created_at": {"type": "string", "format": "date-time"}}),
                    "AdminOrg": obj({"id": S, "name": S, "sector": S, "type": S,
                                     "parent_id": {"type": ["string", "null"]}, "under": S, "active": B,
                                     "children": {"type": "integer", "description": "direct children, active or not"}}),
                    "Org": org, "User": user, "Request": request, "UserRow": user_row, "Upload": upload,
                    "RequestList": obj({"items": {"type": "array", "items": REF("Request")}, "total": I,
                                        "page": I, "per_page": I}),
                    "Problem": obj({
            "type": S, "title": S, "status": I, "code": S, "detail": S,
            "errors": {"type": "array", "items": obj({"field": S, "code": S, "message": S})}},
            ["type", "title", "status", "code"])},
        "responses": {"Problem": {"description": "an error",
                                  "content": {"application/problem+json": {"schema": REF("Problem")}}}},
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "cookie": {"type": "apiKey", "in": "cookie", "name": "pravesh_session"}}},
}

# docs/openapi.json, or the path given (the tests compare the two)
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "docs", "openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
