// Package apiclient is the client of Kiroku's supervisor API: its wire
// types (wire.go: the JSON bodies the API answers and takes) and a
// Client with typed calls (client.go, calls.go).
//
// httpapi encodes its answers with these same types and kirokuctl
// decodes them with them, so the server, the CLI and the API's own
// tests cannot drift apart (as Alertmanager's api/v2/models serve both
// its server and amtool). The types are plain data: no behaviour beyond
// JSON, no dependency on the server.
//
// It must not import httpapi or any package of the server side
// (catalog, storage, contract, …): kirokuctl links it, and a client
// that pulled in the server would be a server. It imports nothing from
// the project.
package apiclient
