package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// nextUIDKey keeps the next uid never given in this data dir's block;
// freeUIDsKey the uids of deleted functions that may be given again
// ("1,2,3", oldest first).
const (
	nextUIDKey  = "process/next-uid"
	freeUIDsKey = "process/free-uids"
)

// allocUID hands out a uid of the data dir's block (used as gid too): a
// fresh one while there are, then the one of the function deleted
// longest ago that nothing runs as any more. A uid is only freed once its
// function's processes, cgroups and dirs are gone (freeUID), so a
// successor finds none of its predecessor's files in the data dir.
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
			if p.inBlock(n) || n == p.uidBase+p.uidCount() { // else: counted in another block (moved data dir, older Ferry)
				uid = n
			}
		}
		if uid < p.uidBase+p.uidCount() {
			return b.Put([]byte(nextUIDKey), []byte(strconv.Itoa(uid+1)))
		}
		free := parseUIDs(b.Get([]byte(freeUIDsKey)))
		running := uidsRunning()
		for i, u := range free {
			if p.inBlock(u) && !running[u] {
				uid = u
				return b.Put([]byte(freeUIDsKey), formatUIDs(slices.Delete(free, i, i+1)))
			}
		}
		return fmt.Errorf("this data dir has given all its %d uids and no deleted function's uid is free yet: delete functions or deploy into a new data dir", p.uidCount())
	})
	return uid, err
}

// freeUID lets uid be given again (see allocUID).
func (p *Provider) freeUID(uid int) error {
	if !p.inBlock(uid) {
		return nil
	}
	return p.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(store.Meta))
		free := parseUIDs(b.Get([]byte(freeUIDsKey)))
		if slices.Contains(free, uid) {
			return nil
		}
		return b.Put([]byte(freeUIDsKey), formatUIDs(append(free, uid)))
	})
}

func parseUIDs(v []byte) []int {
	var out []int
	for _, f := range strings.Split(string(v), ",") {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func formatUIDs(uids []int) []byte {
	var b []byte
	for i, u := range uids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(u), 10)
	}
	return b
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
