package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
)

// duplicateKey finds the first object key given twice in b, which must be
// valid JSON (it runs after json.Unmarshal succeeded). encoding/json keeps
// the last of two equal keys, so {"image":"a","image":"b"} would deploy b
// while a reviewer of the body sees a. Top-level keys are compared as the
// decoder matches struct fields, ignoring case; nested objects (envVars,
// labels) are maps, where "A" and "a" are different keys. It returns the
// dotted path of the object and the key; key is "" when none repeats.
func duplicateKey(b []byte) (path, key string) {
	s := dupScanner{b: b}
	s.value()
	return s.path, s.key
}

type dupScanner struct {
	b         []byte
	i         int
	keys      [][]byte // the keys leading to the current value
	path, key string
}

func (s *dupScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the byte there, consuming it.
func (s *dupScanner) next() byte {
	s.ws()
	c := s.b[s.i]
	s.i++
	return c
}

func (s *dupScanner) value() {
	switch s.next() {
	case '{':
		s.object()
	case '[':
		s.ws()
		if s.b[s.i] == ']' {
			s.i++
			return
		}
		for s.key == "" && s.next2() != ']' {
		}
	case '"':
		s.str()
	default: // number, true, false, null
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\r\n", rune(s.b[s.i])) {
			s.i++
		}
	}
}

// next2 reads one array element and the ',' or ']' after it.
func (s *dupScanner) next2() byte {
	s.value()
	if s.key != "" {
		return ']'
	}
	return s.next()
}

func (s *dupScanner) object() {
	// Most objects have a few keys: compare them in place, without a map
	// or a string per key, so the scan stays a small share of decoding.
	top := len(s.keys) == 0
	var few [][]byte
	var many map[string]struct{}
	for {
		if s.next() == '}' {
			return
		}
		name := s.objectKey()
		dup := false
		if many != nil {
			k := mapKey(name, top)
			_, dup = many[k]
			many[k] = struct{}{}
		} else {
			for _, f := range few {
				dup = dup || bytes.Equal(f, name) || top && bytes.EqualFold(f, name)
			}
			if few = append(few, name); len(few) > 16 {
				many = make(map[string]struct{}, 64)
				for _, f := range few {
					many[mapKey(f, top)] = struct{}{}
				}
			}
		}
		if dup {
			s.found(name)
			return
		}
		s.next() // ':'
		s.keys = append(s.keys, name)
		s.value()
		s.keys = s.keys[:len(s.keys)-1]
		if s.key != "" || s.next() == '}' {
			return
		}
	}
}

// objectKey reads a key whose opening quote was consumed: its unquoted
// bytes.
func (s *dupScanner) objectKey() (name []byte) {
	start := s.i - 1
	s.str()
	raw := s.b[start:s.i]
	name = raw[1 : len(raw)-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		var u string
		json.Unmarshal(raw, &u)
		name = []byte(u)
	}
	return name
}

func mapKey(name []byte, fold bool) string {
	if fold {
		return strings.ToLower(string(name))
	}
	return string(name)
}

// found records the duplicate key and the dotted path of its object.
func (s *dupScanner) found(name []byte) {
	parts := make([]string, len(s.keys))
	for i, p := range s.keys {
		parts[i] = string(p)
	}
	s.path, s.key = strings.Join(parts, "."), string(name)
}

// str skips the rest of a string whose opening quote was consumed.
func (s *dupScanner) str() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return
		default:
			s.i++
		}
	}
}
