package s3

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/storage"
)

// maxDeleteBatch is how many objects one DeleteObjects request names,
// S3's limit.
const maxDeleteBatch = 1000

// deleteRequests bounds the DeleteObjects requests Delete has in flight.
const deleteRequests = 4

// versionListers bounds the version listings Delete runs at once.
const versionListers = 8

// Delete removes keys with DeleteObjects requests of up to 1,000 objects;
// an absent key is not an error. In a versioned bucket it removes every
// version of each key (listing them first), so that the bytes are gone
// and Object Lock is enforced: a key under retention or legal hold comes
// back with storage.ErrLocked. The result has one entry per key, in
// order.
func (s *Store) Delete(ctx context.Context, keys []string) []storage.DeleteResult {
	results := make([]storage.DeleteResult, len(keys))
	if err := s.Check(ctx); err != nil { // Delete must know whether the bucket is versioned
		for i, key := range keys {
			results[i] = storage.DeleteResult{Key: key, Err: fmt.Errorf("delete: %w", err)}
		}
		return results
	}
	at := make(map[string][]int) // the indexes of each valid key
	var valid []string
	for i, key := range keys {
		results[i].Key = key
		if err := storage.CheckKey(key); err != nil {
			results[i].Err = fmt.Errorf("delete: %w", err)
			continue
		}
		if len(at[key]) == 0 {
			valid = append(valid, key)
		}
		at[key] = append(at[key], i)
	}

	errs := make(map[string]error, len(valid))
	var objects []minio.ObjectInfo
	if s.versioned {
		objects = s.versions(ctx, valid, errs)
	} else {
		objects = make([]minio.ObjectInfo, len(valid))
		for i, key := range valid {
			objects[i] = minio.ObjectInfo{Key: key}
		}
	}
	// Requests run a few at a time: a server deletes objects one by one,
	// so one request at a time leaves most of it idle.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sem = make(chan struct{}, deleteRequests)
	)
	for batch := range slices.Chunk(objects, maxDeleteBatch) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			local := map[string]error{}
			s.deleteBatch(ctx, batch, local)
			mu.Lock()
			for k, err := range local {
				errs[k] = cmpErr(errs[k], err)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	for key, err := range errs {
		for _, i := range at[key] {
			results[i].Err = fmt.Errorf("delete %s: %w", key, err)
		}
	}
	return results
}

// deleteBatch sends one DeleteObjects request and records the failures
// in errs by key.
func (s *Store) deleteBatch(ctx context.Context, batch []minio.ObjectInfo, errs map[string]error) {
	if err := ctx.Err(); err != nil {
		for _, o := range batch {
			errs[o.Key] = cmpErr(errs[o.Key], err)
		}
		return
	}
	results, err := s.client.RemoveObjectsWithIter(ctx, s.bucket, slices.Values(batch), minio.RemoveObjectsOptions{})
	if err != nil {
		for _, o := range batch {
			errs[o.Key] = cmpErr(errs[o.Key], err)
		}
		return
	}
	type version struct{ key, id string }
	answered := make(map[version]bool, len(batch))
	var whole error // an error for the request, not for one object
	for r := range results {
		if r.ObjectName == "" && r.Err != nil {
			whole = r.Err
			continue
		}
		answered[version{r.ObjectName, r.ObjectVersionID}] = true
		if r.Err != nil {
			errs[r.ObjectName] = cmpErr(errs[r.ObjectName], mapErr(r.Err))
		}
	}
	for _, o := range batch {
		if answered[version{o.Key, o.VersionID}] {
			continue
		}
		switch {
		case whole != nil:
			errs[o.Key] = cmpErr(errs[o.Key], whole)
		case ctx.Err() != nil:
			errs[o.Key] = cmpErr(errs[o.Key], ctx.Err())
		case s.versioned:
			// minio-go leaves out NoSuchVersion: gone already.
		default:
			errs[o.Key] = cmpErr(errs[o.Key], errors.New("not confirmed by the service"))
		}
	}
}

// versions lists every version (and delete marker) of keys, recording
// the keys it could not list in errs.
func (s *Store) versions(ctx context.Context, keys []string, errs map[string]error) []minio.ObjectInfo {
	var (
		mu   sync.Mutex
		all  []minio.ObjectInfo
		wg   sync.WaitGroup
		todo = make(chan string)
	)
	for range min(versionListers, len(keys)) {
		wg.Go(func() {
			for key := range todo {
				vs, err := s.keyVersions(ctx, key)
				mu.Lock()
				if err != nil {
					errs[key] = err
				}
				all = append(all, vs...)
				mu.Unlock()
			}
		})
	}
	for _, key := range keys {
		todo <- key
	}
	close(todo)
	wg.Wait()
	return all
}

// keyVersions lists the versions of key alone (a listing by prefix also
// finds "key.json" and "key/..."; they sort after key, so it stops there).
func (s *Store) keyVersions(ctx context.Context, key string) ([]minio.ObjectInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var vs []minio.ObjectInfo
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: key, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list versions: %w", mapErr(o.Err))
		}
		if o.Key != key {
			break
		}
		vs = append(vs, minio.ObjectInfo{Key: key, VersionID: o.VersionID})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return vs, nil
}

// cmpErr keeps the first error of a key.
func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}
