package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// The contract-end answers are the contract package's own types (a
// certificate is also written beside the returned copy, so it is not
// the API's to shape). These are the parts of them a client reads;
// httpapi's tests hold every field here to the server's types, so a
// renamed or dropped field fails there rather than reading as zero
// here.

// ContractPlan is a contract-end dry run: GET
// /api/v1/clients/{client}/contract-end.
type ContractPlan struct {
	Client     string       `json:"client"`
	ClientName string       `json:"client_name"`
	Recordings int          `json:"recordings"`
	WithAudio  int          `json:"with_audio"`
	Restricted int          `json:"restricted"`
	Held       int          `json:"held"`
	ToDestroy  int          `json:"to_destroy"`
	Bytes      int64        `json:"sealed_bytes"`
	First      *time.Time   `json:"first"`
	Last       *time.Time   `json:"last"`
	Blockers   []string     `json:"blockers"`
	ZIPRefused []string     `json:"zip_refused"`
	Run        *ContractRun `json:"unfinished_run"`
}

// ContractRun is a contract-end run.
type ContractRun struct {
	ID        string         `json:"id"`
	Client    string         `json:"client"`
	State     string         `json:"state"`
	StartedAt time.Time      `json:"started_at"`
	Operators []string       `json:"operators"`
	Items     map[string]int `json:"items"`
}

// ContractRunList is the answer of GET /api/v1/contract-ends.
type ContractRunList struct {
	Runs []ContractRun `json:"runs"`
}

// Certificate is the summary of a contract-end certificate: its run, its
// counts and the audit entries it spans.
type Certificate struct {
	Run    string            `json:"run"`
	Counts CertificateCounts `json:"counts"`
	Audit  AuditRange        `json:"audit"`
}

// CertificateCounts are a certificate's figures.
type CertificateCounts struct {
	Recordings  int `json:"recordings"`
	Returned    int `json:"returned"`
	Destroyed   int `json:"destroyed"`
	Held        int `json:"held"`
	NotReturned int `json:"not_returned"`
	Gone        int `json:"deleted_meanwhile"`
}

// AuditRange is the first and last audit entry of a run.
type AuditRange struct {
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
}

// Confirmation is the answer of POST /api/v1/contract-ends/{id}/confirm:
// how many recordings were verified, the files that did not match, and
// the certificate once the run is done.
type Confirmation struct {
	Verified    int               `json:"verified"`
	Mismatches  []json.RawMessage `json:"mismatches"`
	Certificate json.RawMessage   `json:"certificate"`
}

// ContractConfirm is the body of POST /api/v1/contract-ends/{id}/confirm:
// the SHA-256 (hex) of every file received, by file name.
type ContractConfirm struct {
	Sums map[string]string `json:"sums"`
}

// ContractPlan asks for client's contract-end dry run.
func (c *Client) ContractPlan(ctx context.Context, client string) (ContractPlan, json.RawMessage, error) {
	return call[ContractPlan](ctx, c, http.MethodGet, "/api/v1/clients/"+url.PathEscape(client)+"/contract-end", nil, nil, nil)
}

// ContractRuns lists the contract-end runs.
func (c *Client) ContractRuns(ctx context.Context) (ContractRunList, json.RawMessage, error) {
	return call[ContractRunList](ctx, c, http.MethodGet, "/api/v1/contract-ends", nil, nil, nil)
}

// ConfirmContractEnd confirms the checksums of a returned ZIP.
func (c *Client) ConfirmContractEnd(ctx context.Context, run string, sums map[string]string) (Confirmation, json.RawMessage, error) {
	return call[Confirmation](ctx, c, http.MethodPost, "/api/v1/contract-ends/"+url.PathEscape(run)+"/confirm", nil, nil, ContractConfirm{Sums: sums})
}
