// Package store keeps Ferry's durable state (functions, namespaces, secrets,
// artifact index, invocation counters) in one bbolt database in the data
// dir. Each write is a fsynced transaction, so a crash of `ferry serve`
// (even kill -9) loses nothing that was acknowledged to a client.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. Keys inside are "namespace/name" unless said otherwise.
const (
	Functions  = "functions"
	Namespaces = "namespaces" // key: namespace name
	Secrets    = "secrets"
	Artifacts  = "artifacts" // key: sha256 hex digest
	Counters   = "counters"  // key: metric name, value: JSON
	Meta       = "meta"
)

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("not found")

// Store is a bbolt database.
type Store struct {
	db *bolt.DB
}

// Open opens (or creates) DIR/ferry.db. It fails fast, naming the file,
// when another ferry process holds the lock.
func Open(dir string) (*Store, error) {
	path := filepath.Join(dir, "ferry.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open %s: locked by another process (is another `ferry serve` using this data dir?)", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{Functions, Namespaces, Secrets, Artifacts, Counters, Meta} {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Key joins a namespace and a name.
func Key(namespace, name string) string { return namespace + "/" + name }

// Put stores v as JSON.
func (s *Store) Put(bucket, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.PutRaw(bucket, key, b)
}

// PutRaw stores bytes.
func (s *Store) PutRaw(bucket, key string, b []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Put([]byte(key), b)
	})
}

// Get loads JSON into v; ErrNotFound when absent.
func (s *Store) Get(bucket, key string, v any) error {
	b, err := s.GetRaw(bucket, key)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// GetRaw returns a copy of the stored bytes; ErrNotFound when absent.
func (s *Store) GetRaw(bucket, key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bucket)).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// Delete removes a key; deleting a missing key is not an error.
func (s *Store) Delete(bucket, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Delete([]byte(key))
	})
}

// Each calls fn for every key with the given prefix, in key order.
func (s *Store) Each(bucket, prefix string, fn func(key string, val []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(bucket)).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Update runs fn in one read-write transaction, for changes that must be
// atomic across keys (e.g. a function and its counters).
func (s *Store) Update(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}
