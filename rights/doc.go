// Package rights answers data-subject requests: it records each request
// (disclosure, correction, stop of use, resume of use, erasure, stop of
// third-party provision), streams disclosure ZIPs, corrects facts about
// the caller, restricts and releases recordings, erases them by
// crypto-shredding, records provisions to third parties (APPI) and
// exports pseudonymised call metadata. Every step is an audit entry.
//
// It must not decide who may ask: the API in front of it (httpapi,
// privacy-officer only) does; nor does it hold retention policy.
package rights
