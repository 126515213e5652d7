// Package retention keeps recordings only as long as their purpose needs:
// it purges what is past its retention date on a cron schedule, honours
// legal holds (which always win), applies retention changes to recordings
// already stored (shorter always; longer only when the purpose says so),
// sweeps the store for orphans, and plans the next purge for auditors.
// Every deletion goes through recording.Destroyer, which leaves a
// tombstone and an audit entry.
//
// It must not speak HTTP, import storage/upload (stored recordings are
// read and destroyed through package recording), write SQL (the catalog
// does) or walk the spool folder (spool lists and removes its calls).
package retention
