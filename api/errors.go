package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error that carries the HTTP status it should be answered with.
// Providers and handlers return it; the gateway writes Status and Message.
// Err is the cause, when there is one: kept so that errors.Is and
// errors.As still see it (a timeout, a refused connection) behind the
// status; the client only ever gets Message.
type Error struct {
	Status  int
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause (nil when there is none).
func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error with a status and a formatted one-line message;
// the errors its %w verbs name become its cause, as with fmt.Errorf.
func Errorf(status int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	e := &Error{Status: status, Message: err.Error()}
	switch w := err.(type) {
	case interface{ Unwrap() error }:
		e.Err = w.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = errors.Join(w.Unwrap()...)
	}
	return e
}

// NotFound says a named thing does not exist.
func NotFound(kind, name string) error {
	return Errorf(http.StatusNotFound, "%s %q not found", kind, name)
}

// Conflict says a named thing already exists.
func Conflict(kind, name string) error {
	return Errorf(http.StatusConflict, "%s %q already exists", kind, name)
}

// BadRequest is a 400 with a message.
func BadRequest(format string, args ...any) error {
	return Errorf(http.StatusBadRequest, format, args...)
}

// StatusOf returns the HTTP status an error should be answered with:
// the one it carries, or 500.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}

// IsNotFound reports whether err carries 404.
func IsNotFound(err error) bool { return err != nil && StatusOf(err) == http.StatusNotFound }

// IsConflict reports whether err carries 409.
func IsConflict(err error) bool { return err != nil && StatusOf(err) == http.StatusConflict }
