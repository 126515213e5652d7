// Package rights answers data-subject requests: it records each request
// (disclosure, correction, stop of use, resume of use, erasure, stop of
// third-party provision), streams disclosure ZIPs, corrects facts about
// the caller, restricts and releases recordings, erases them by
// crypto-shredding, records provisions to third parties (APPI) and
// exports pseudonymised call metadata. Every step is an audit entry.
//
// Erasure destroys through recording.Destroyer, as every deletion does.
//
// It must not decide who may ask: the API in front of it (httpapi,
// privacy-officer only) does; nor does it hold retention policy. It must
// not import storage/upload (stored recordings are opened and destroyed
// through package recording), write SQL (the catalog does) or walk the
// spool.
package rights
