// Package incident reports, for an actor (a token's name), a client or a
// time window, every recording accessed, exported or changed with the
// audit entries that say so, and the distinct caller numbers affected:
// what a privacy officer needs to meet the reporting and notification
// duties when an incident happens. It reads the audit log and the
// catalog and changes neither (the API audits the report itself).
//
// It must not speak HTTP.
//
// It must not import httpapi, sip, media or storage/....
package incident
