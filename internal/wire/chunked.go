package wire

import (
	"bufio"
	"errors"
	"strconv"
)

// ChunkScanner finds the end of a chunked body passed through unchanged:
// chunk-size lines, data, and the trailer section after the last chunk.
type ChunkScanner struct {
	state   int
	left    int64 // data bytes left in the chunk, then its CRLF
	size    int64
	line    int // bytes of the current size or trailer line
	content int // of the trailer line, CR not counted
	total   int // bytes of the trailer section
}

const (
	chSize    = iota // hex digits of a chunk size
	chExt            // extensions, up to LF
	chData           // chunk data
	chDataEnd        // CRLF after the data
	chTrailer        // trailer lines, up to an empty one
)

// Bounds of a chunked body a ChunkScanner takes: a chunk-size or trailer
// line, and the whole trailer section.
const (
	MaxChunkLine = 4 << 10
	MaxTrailers  = 64 << 10
)

// ErrChunked is any chunked framing a ChunkScanner refuses.
var ErrChunked = errors.New("malformed chunked body")

// Scan consumes b and returns how many of its bytes belong to the body,
// and whether the body ended there.
func (s *ChunkScanner) Scan(b []byte) (int, bool, error) {
	for i := 0; i < len(b); {
		switch s.state {
		case chData:
			n := int64(len(b) - i)
			if n > s.left {
				n = s.left
			}
			i += int(n)
			s.left -= n
			if s.left == 0 {
				s.state = chDataEnd
			}
			continue
		}
		c := b[i]
		i++
		s.line++
		switch s.state {
		case chSize:
			switch d := hexVal(c); {
			case d >= 0:
				if s.size > (1<<59)-1 {
					return 0, false, ErrChunked
				}
				s.size = s.size<<4 | int64(d)
			case s.line == 1:
				return 0, false, ErrChunked // no digits
			case c == ';' || c == ' ' || c == '\t' || c == '\r':
				s.state = chExt
			case c == '\n':
				s.endSize()
			default:
				return 0, false, ErrChunked
			}
		case chExt:
			if c == '\n' {
				s.endSize()
			} else if c < ' ' && c != '\t' && c != '\r' {
				return 0, false, ErrChunked
			}
		case chDataEnd:
			switch {
			case c == '\r' && s.line == 1:
			case c == '\n':
				s.state, s.line = chSize, 0
			default:
				return 0, false, ErrChunked
			}
		case chTrailer:
			s.total++
			if s.total > MaxTrailers {
				return 0, false, ErrChunked
			}
			switch c {
			case '\n':
				if s.content == 0 {
					return i, true, nil
				}
				s.line, s.content = 0, 0
			case '\r':
			default:
				s.content++
			}
		}
		if s.line > MaxChunkLine {
			return 0, false, ErrChunked
		}
	}
	return len(b), false, nil
}

// endSize ends a chunk-size line: data follows, or the trailer section
// after the last chunk.
func (s *ChunkScanner) endSize() {
	s.line = 0
	if s.size == 0 {
		s.state = chTrailer
		return
	}
	s.state, s.left, s.size = chData, s.size, 0
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// LastChunk ends a chunked body; the trailer section and its empty line
// follow it.
const LastChunk = "0\r\n"

// WriteChunk writes p as one chunk. An empty p writes nothing: its
// zero-size chunk would be the last one and end the body early.
func WriteChunk(bw *bufio.Writer, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
	bw.WriteString("\r\n")
	bw.Write(p)
	if _, err := bw.WriteString("\r\n"); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ChunkedWriter writes each Write as one chunk (WriteChunk); Close ends
// the body with no trailers. It buffers: flush the writer after Close.
type ChunkedWriter struct{ bw *bufio.Writer }

// NewChunkedWriter returns a ChunkedWriter on bw.
func NewChunkedWriter(bw *bufio.Writer) ChunkedWriter { return ChunkedWriter{bw} }

func (w ChunkedWriter) Write(p []byte) (int, error) { return WriteChunk(w.bw, p) }

// Close writes the last chunk and the empty trailer section.
func (w ChunkedWriter) Close() error {
	_, err := w.bw.WriteString(LastChunk + "\r\n")
	return err
}
