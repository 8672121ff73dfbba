package store

import (
	"errors"
	"testing"
)

func TestRoundTripAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(Functions, Key("ns1", "a"), map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(Functions, Key("ns1", "b"), map[string]int{"x": 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(Functions, Key("ns2", "a"), map[string]int{"x": 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil {
		t.Fatal("second Open of a locked db should fail")
	}
	s.Close()

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	s.Each(Functions, "ns1/", func(k string, _ []byte) error { got = append(got, k); return nil })
	if len(got) != 2 || got[0] != "ns1/a" || got[1] != "ns1/b" {
		t.Fatalf("prefix scan: %v", got)
	}
	var v map[string]int
	if err := s.Get(Functions, "ns2/a", &v); err != nil || v["x"] != 3 {
		t.Fatalf("get: %v %v", v, err)
	}
	s.Delete(Functions, "ns2/a")
	if err := s.Get(Functions, "ns2/a", &v); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}
