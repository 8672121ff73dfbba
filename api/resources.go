package api

import (
	"encoding/json"
	"fmt"
	"sort"
)

// MarshalJSON writes memory and cpu plus any extended resource keys.
func (r Resources) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, 2+len(r.Extra))
	for k, v := range r.Extra {
		m[k] = v
	}
	if r.Memory != "" {
		m["memory"] = r.Memory
	}
	if r.CPU != "" {
		m["cpu"] = r.CPU
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads memory, cpu and extended keys such as "nvidia.com/gpu".
func (r *Resources) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("want an object of strings like {\"memory\":\"128Mi\",\"cpu\":\"500m\"}")
	}
	*r = Resources{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "memory":
			r.Memory = m[k]
		case "cpu":
			r.CPU = m[k]
		default:
			if r.Extra == nil {
				r.Extra = map[string]string{}
			}
			r.Extra[k] = m[k]
		}
	}
	return nil
}
