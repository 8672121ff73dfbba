package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// An *Error made with %w keeps its cause for errors.Is and errors.As, and
// its message is what fmt.Errorf would have written.
func TestErrorfKeepsTheCause(t *testing.T) {
	err := Errorf(http.StatusBadGateway, "function %s: %w", "echo", io.ErrUnexpectedEOF)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("errors.Is(%v, io.ErrUnexpectedEOF) = false", err)
	}
	if got, want := err.Error(), "function echo: unexpected EOF"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || errors.Unwrap(err) != io.ErrUnexpectedEOF {
		t.Fatalf("errors.As: %+v", e)
	}

	two := Errorf(http.StatusServiceUnavailable, "%w, then %w", context.DeadlineExceeded, io.EOF)
	if !errors.Is(two, context.DeadlineExceeded) || !errors.Is(two, io.EOF) || two.Error() != "context deadline exceeded, then EOF" {
		t.Fatalf("two causes: %v", two)
	}

	// %v formats the cause into the message only: nothing to unwrap.
	if plain := Errorf(http.StatusBadRequest, "bad: %v", io.EOF); errors.Is(plain, io.EOF) || errors.Unwrap(plain) != nil {
		t.Fatalf("%%v must not wrap: %v", plain)
	}
}

// StatusOf finds the status through any wrapping, and is 500 for an
// error that carries none (nil included: callers check err first).
func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{NotFound("function", "f"), http.StatusNotFound},
		{Conflict("secret", "s"), http.StatusConflict},
		{BadRequest("field %q: empty", "name"), http.StatusBadRequest},
		{fmt.Errorf("deploy: %w", NotFound("function", "f")), http.StatusNotFound},
		{Errorf(http.StatusBadGateway, "outer: %w", NotFound("function", "f")), http.StatusBadGateway},
		{io.EOF, http.StatusInternalServerError},
		{nil, http.StatusInternalServerError},
	} {
		if got := StatusOf(c.err); got != c.want {
			t.Errorf("StatusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if !IsNotFound(fmt.Errorf("x: %w", NotFound("function", "f"))) || IsNotFound(nil) || IsNotFound(Conflict("a", "b")) {
		t.Fatal("IsNotFound")
	}
	if !IsConflict(Conflict("namespace", "n")) || IsConflict(nil) || IsConflict(io.EOF) {
		t.Fatal("IsConflict")
	}
}

// The helpers' messages name the kind and the name, quoted.
func TestErrorMessages(t *testing.T) {
	if got := NotFound("function", "echo").Error(); got != `function "echo" not found` {
		t.Fatal(got)
	}
	if got := Conflict("secret", "k").Error(); got != `secret "k" already exists` {
		t.Fatal(got)
	}
}
