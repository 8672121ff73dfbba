package queue

import (
	"encoding/binary"
	"net/http"
)

// The binary header (codecBinary): uvarint length of the rest of the
// header; the strings CallID, Function, Namespace, QueueName, Method, Path,
// QueryString, Host, CallbackURL, LastError, BodyRef (each a uvarint
// length and its bytes); the varints StartTime, Attempt, LastStatus,
// BodySize; uvarint count of header keys, each key a string followed by a
// uvarint count of its values and the values as strings. The body follows.

func (r *Request) strings() [11]*string {
	return [11]*string{&r.CallID, &r.Function, &r.Namespace, &r.QueueName, &r.Method, &r.Path,
		&r.QueryString, &r.Host, &r.CallbackURL, &r.LastError, &r.BodyRef}
}

func (r *Request) ints() [4]*int64 {
	a, s := int64(r.Attempt), int64(r.LastStatus)
	return [4]*int64{&r.StartTime, &a, &s, &r.BodySize}
}

// binarySize is an upper bound of the header's encoded size.
func (r *Request) binarySize() int {
	n := 2 * binary.MaxVarintLen64
	for _, s := range r.strings() {
		n += binary.MaxVarintLen64 + len(*s)
	}
	n += 4*binary.MaxVarintLen64 + binary.MaxVarintLen64
	for k, vs := range r.Header {
		n += 2*binary.MaxVarintLen64 + len(k)
		for _, v := range vs {
			n += binary.MaxVarintLen64 + len(v)
		}
	}
	return n
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendBinary appends the length-prefixed header (without the version byte).
func (r *Request) appendBinary(b []byte) []byte {
	// The length prefix is written once the header's size is known; a
	// fixed-size uvarint slot keeps that a single pass.
	at := len(b)
	b = append(b, make([]byte, binary.MaxVarintLen32)...)
	start := len(b)
	for _, s := range r.strings() {
		b = appendString(b, *s)
	}
	for _, v := range r.ints() {
		b = binary.AppendVarint(b, *v)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Header)))
	for k, vs := range r.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	putFixedUvarint(b[at:start], uint64(len(b)-start))
	return b
}

// putFixedUvarint writes v as a uvarint of exactly len(dst) bytes
// (continuation bits on every byte but the last), which Uvarint reads
// like any other.
func putFixedUvarint(dst []byte, v uint64) {
	for i := range dst {
		c := byte(v & 0x7f)
		v >>= 7
		if i < len(dst)-1 {
			c |= 0x80
		}
		dst[i] = c
	}
}

// reader walks a binary header; a truncated or malformed one sets bad.
type reader struct {
	// s is the whole header as one string: every field is a substring of
	// it, one allocation per message rather than one per field.
	s   string
	off int
	bad bool
}

func (d *reader) uvarint() uint64 { return readNum(d, binary.Uvarint) }
func (d *reader) varint() int64   { return readNum(d, binary.Varint) }

// readNum reads one varint with read (binary.Uvarint or binary.Varint).
func readNum[T uint64 | int64](d *reader, read func([]byte) (T, int)) T {
	v, n := read([]byte(d.s[d.off:min(len(d.s), d.off+binary.MaxVarintLen64)]))
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.off += n
	return v
}

func (d *reader) string() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)-d.off) {
		d.bad = true
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func decodeBinary(data []byte) (*Request, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, errBadMessage
	}
	d := reader{s: string(data[k : k+int(n)])}
	r := &Request{}
	for _, p := range r.strings() {
		*p = d.string()
	}
	var ints [4]int64
	for i := range ints {
		ints[i] = d.varint()
	}
	r.StartTime, r.Attempt, r.LastStatus, r.BodySize = ints[0], int(ints[1]), int(ints[2]), ints[3]
	keys := d.uvarint()
	// Each key takes at least two bytes: a count larger than what is left
	// is a broken message, not a reason to allocate.
	if !d.bad && keys > 0 && keys <= uint64(len(d.s)-d.off)/2 {
		r.Header = make(http.Header, keys)
		for range keys {
			key := d.string()
			nv := d.uvarint()
			if d.bad || nv > uint64(len(d.s)-d.off) {
				d.bad = true
				break
			}
			vs := make([]string, nv)
			for i := range vs {
				vs[i] = d.string()
			}
			r.Header[key] = vs
		}
	} else if keys > 0 {
		d.bad = true
	}
	if d.bad || d.off != len(d.s) {
		return nil, errBadMessage
	}
	r.Body = data[k+int(n):]
	return r, nil
}
