package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Request is one queued invocation. The capitalised field names are those
// of OpenFaaS's queue message (Header, Host, Body, Method, Path,
// QueryString, Function, QueueName, CallbackUrl) plus Ferry's own.
type Request struct {
	CallID      string      `json:"CallId"`
	Function    string      `json:"Function"` // name without namespace
	Namespace   string      `json:"Namespace"`
	QueueName   string      `json:"QueueName"` // the queue token, see subjects.go
	Method      string      `json:"Method"`
	Path        string      `json:"Path"` // sub-path after the function name, "" or "/..."
	QueryString string      `json:"QueryString,omitempty"`
	Host        string      `json:"Host,omitempty"`
	Header      http.Header `json:"Header,omitempty"`
	CallbackURL string      `json:"CallbackUrl,omitempty"`
	// StartTime is when the gateway accepted the call (Unix nanoseconds).
	StartTime int64 `json:"StartTime"`
	// Attempt counts the invocations that already failed with a retryable
	// error (0 on the first run).
	Attempt int `json:"Attempt,omitempty"`
	// LastStatus/LastError describe the last failed attempt.
	LastStatus int    `json:"LastStatus,omitempty"`
	LastError  string `json:"LastError,omitempty"`
	// BodyRef names the object holding a body too large to travel inline.
	BodyRef  string `json:"BodyRef,omitempty"`
	BodySize int64  `json:"BodySize"`
	// Body travels after the header in the NATS payload, not in it, so
	// that it is not base64-encoded.
	Body []byte `json:"-"`
}

// FunctionName is "name.namespace", the function_name of gateway metrics.
func (r *Request) FunctionName() string { return r.Function + "." + r.Namespace }

// Two framings of a message, told apart by its first byte. Both are read
// whatever is written, so workers of either setting share a queue.
const (
	// codecJSON: uvarint length of a JSON header, the JSON, the raw body.
	codecJSON = 1
	// codecBinary: the same fields as length-prefixed strings and varints,
	// then the raw body. Reflection-driven JSON of the header map was the
	// worker's largest single cost per call after the invocation itself.
	codecBinary = 2
)

// writeCodec is what encode writes: binary unless SetWriteCodec (ferry's
// --queue-codec) keeps the JSON header, for a queue still read by workers
// older than the binary codec during a rolling upgrade.
var writeCodec byte = codecBinary

// SetWriteCodec chooses what queued calls are written in: "binary" (the
// default) or "json" (readable by workers older than the binary codec).
// Both are always read. Call it before the queue is used.
func SetWriteCodec(name string) error {
	switch name {
	case "binary":
		writeCodec = codecBinary
	case "json":
		writeCodec = codecJSON
	default:
		return fmt.Errorf("--queue-codec %q: use binary or json", name)
	}
	return nil
}

// encode frames a request in writeCodec.
func (r *Request) encode() ([]byte, error) { return r.appendTo(nil) }

// appendTo is encode into dst's spare capacity (a pooled buffer), so that
// a large body is not one more allocation per call.
func (r *Request) appendTo(dst []byte) ([]byte, error) { return r.appendCodec(dst, writeCodec) }

func (r *Request) appendCodec(dst []byte, codec byte) ([]byte, error) {
	if codec == codecBinary {
		buf := slices.Grow(dst[:0], r.binarySize()+len(r.Body))
		buf = r.appendBinary(append(buf, codecBinary))
		return append(buf, r.Body...), nil
	}
	meta, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	buf := slices.Grow(dst[:0], 1+binary.MaxVarintLen64+len(meta)+len(r.Body))
	buf = append(buf, codecJSON)
	buf = binary.AppendUvarint(buf, uint64(len(meta)))
	buf = append(buf, meta...)
	return append(buf, r.Body...), nil
}

var errBadMessage = errors.New("queue message is not in Ferry's format")

func decode(data []byte) (*Request, error) {
	if len(data) < 2 {
		return nil, errBadMessage
	}
	switch data[0] {
	case codecBinary:
		return decodeBinary(data[1:])
	case codecJSON:
	default:
		return nil, errBadMessage
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || uint64(len(data)-1-k) < n {
		return nil, errBadMessage
	}
	start := 1 + k
	r := &Request{}
	if err := json.Unmarshal(data[start:start+int(n)], r); err != nil {
		return nil, errBadMessage
	}
	r.Body = data[start+int(n):]
	return r, nil
}
