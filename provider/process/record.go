package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/store"
	bolt "go.etcd.io/bbolt"
)

// record is what the Functions bucket keeps per function.
type record struct {
	Deployment api.FunctionDeployment `json:"deployment"`
	Replicas   uint64                 `json:"replicas"`
	CreatedAt  time.Time              `json:"createdAt"`
	// UID/GID the replicas run as when isolated (0: not allocated).
	UID int `json:"uid,omitempty"`
	GID int `json:"gid,omitempty"`
}

// secretRecord is what the Secrets bucket keeps; the value never leaves
// the provider except as a file for the functions that name it.
type secretRecord struct {
	Value     []byte    `json:"value"`
	CreatedAt time.Time `json:"createdAt"`
}

// artifactRecord is the Artifacts bucket's index entry (key: hex digest).
type artifactRecord struct {
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"createdAt"`
	// UsedAt is the last upload or check (HEAD) of it: see gc.go.
	UsedAt time.Time `json:"usedAt,omitzero"`
}

// nextUIDKey keeps the next uid to give in this data dir's block.
const nextUIDKey = "process/next-uid"

// allocUID hands out a fresh uid of the data dir's block (used as gid
// too), never reused: a deleted function's leftovers can't be read by its
// successor.
func (p *Provider) allocUID() (int, error) {
	var uid int
	err := p.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(store.Meta))
		uid = p.uidBase
		if v := b.Get([]byte(nextUIDKey)); v != nil {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return errors.New("corrupt " + nextUIDKey + " in the store")
			}
			if p.inBlock(n) { // else: counted in another block (moved data dir, older Ferry)
				uid = n
			}
		}
		if !p.inBlock(uid) {
			return fmt.Errorf("this data dir has given all its %d uids: deploy into a new data dir", uidBlockSize)
		}
		return b.Put([]byte(nextUIDKey), []byte(strconv.Itoa(uid+1)))
	})
	return uid, err
}

func (p *Provider) putRecord(r *record) error {
	return p.st.Put(store.Functions, store.Key(r.Deployment.Namespace, r.Deployment.Service), r)
}

func (p *Provider) loadRecords() ([]record, error) {
	var out []record
	err := p.st.Each(store.Functions, "", func(k string, v []byte) error {
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return errors.New("corrupt function record " + k + " in the store: " + err.Error())
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
