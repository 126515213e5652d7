// Package httpapi serves Kiroku's HTTP interfaces:
//
//   - the control routes (NewControl), read-only, on a loopback-only
//     listener without authentication: health and calls in progress;
//   - the supervisor API (NewAPI) under /api/v1 and its embedded web UI:
//     bearer-token authentication (an Authenticator; OIDC can plug in),
//     per-purpose authorisation by role, search, metadata with consent
//     evidence, decrypted audio streamed with HTTP Range, legal holds (one by
//     one and in bulk), the retention plan with its preview and a purge,
//     the audit log and its verification, calls in progress and
//     listening in to them as they are recorded.
//
// Who may call which route is not decided here: every route is
// registered from access's route table, each handler asks access
// (a.allow) once the request is well formed, and an answer below 400
// cannot leave before it has; which recordings, calls and clients a
// principal reaches is access.Policy's. It must not hold access rules
// inline. Answers are encoded with apiclient's wire types, the ones
// kirokuctl decodes them with.
//
// Every access through the API is its own audit entry (search, view,
// play, download, hold, release-hold, denied, audit-read, audit-verify,
// calls-list, pause, resume, listen, listen-end), written before any data
// leaves. It must not
// touch storage or the catalog except through their packages, and must
// not bypass the audit log. README.md beside this file documents the
// routes, the roles and the Range rules.
package httpapi
