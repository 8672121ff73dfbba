package eventloop

import "errors"

// chunkScanner finds the end of a chunked body passed through unchanged:
// chunk-size lines, data, and the trailer section after the last chunk.
type chunkScanner struct {
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

const (
	maxChunkLine = 4 << 10
	maxTrailers  = 64 << 10
)

var errChunked = errors.New("malformed chunked body")

// scan consumes b and returns how many of its bytes belong to the body,
// and whether the body ended there.
func (s *chunkScanner) scan(b []byte) (int, bool, error) {
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
					return 0, false, errChunked
				}
				s.size = s.size<<4 | int64(d)
			case s.line == 1:
				return 0, false, errChunked // no digits
			case c == ';' || c == ' ' || c == '\t' || c == '\r':
				s.state = chExt
			case c == '\n':
				s.endSize()
			default:
				return 0, false, errChunked
			}
		case chExt:
			if c == '\n' {
				s.endSize()
			} else if c < ' ' && c != '\t' && c != '\r' {
				return 0, false, errChunked
			}
		case chDataEnd:
			switch {
			case c == '\r' && s.line == 1:
			case c == '\n':
				s.state, s.line = chSize, 0
			default:
				return 0, false, errChunked
			}
		case chTrailer:
			s.total++
			if s.total > maxTrailers {
				return 0, false, errChunked
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
		if s.line > maxChunkLine {
			return 0, false, errChunked
		}
	}
	return len(b), false, nil
}

// endSize ends a chunk-size line: data follows, or the trailer section
// after the last chunk.
func (s *chunkScanner) endSize() {
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
