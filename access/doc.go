// Package access owns who may do what through the supervisor API: the
// roles a token may hold (Roles), the route→roles table (Routes, one
// Rule per route), and the scope rules that narrow what a principal
// sees by purpose and by client (Policy: Grant, Search, ClientRoles,
// SeesCall, ClientAllows, IncidentView).
//
// Everything here is a pure function of its arguments: access does no
// I/O (no files, network, clock or logging) and imports nothing from the
// project, so that internal/config can use its list of roles and
// httpapi, kirokuctl and the tests can use the rest. httpapi calls it
// for every route; the refusals it returns carry the text the audit log
// keeps (Why) and the text the caller is shown (Answer).
//
// It must not import internal/config, catalog, audit or httpapi.
package access
