package wasmrt

import (
	"encoding/binary"
	"errors"
)

// mergeData rewrites a module's data section so that its active segments
// become a few large ones, or returns bin unchanged when the section is
// not of the plain form this knows (or the module has a data count
// section, which passive segments are indexed with).
//
// Why: Go's wasm linker splits its data into tens of thousands of small
// segments (the test guest has 43,000) and wazero evaluates each one's
// offset expression and copies it at every instantiation, which cost
// about 4 ms of each call's cold start. One segment per run (runs are cut
// at gaps over mergeGap) holds the same bytes, with the gaps' zeros,
// which a fresh memory holds anyway, so the instance's memory is the same.
func mergeData(bin []byte) []byte {
	out, err := rewriteData(bin)
	if err != nil {
		return bin
	}
	return out
}

// mergeGap is the largest run of zeros written to join two segments.
const mergeGap = 64 << 10

var errForm = errors.New("data section of an unknown form")

type segment struct {
	off  uint32
	data []byte
}

func rewriteData(bin []byte) ([]byte, error) {
	image, at, end, err := layoutData(bin)
	if err != nil {
		return nil, err
	}
	out := append(bin[:at:at], dataSection(runs(image))...)
	return append(out, bin[end:]...), nil
}

// splitData takes a module's data out: the module without its data
// section and the memory image its segments make from address 0, for a
// runtime that maps the image into each instance instead (no copy).
func splitData(bin []byte) (mod, image []byte, err error) {
	image, at, end, err := layoutData(bin)
	if err != nil {
		return nil, nil, err
	}
	return append(bin[:at:at], bin[end:]...), image, nil
}

// layoutData finds the data section, at bin[at:end], and lays its
// segments out as instantiation does: in order, a later one overwriting
// an earlier one where they overlap.
func layoutData(bin []byte) (image []byte, at, end int, err error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, 0, 0, errForm
	}
	i := 8
	for i < len(bin) {
		id := bin[i]
		n, w := binary.Uvarint(bin[i+1:])
		if w <= 0 || uint64(len(bin)-i-1-w) < n {
			return nil, 0, 0, errForm
		}
		body := bin[i+1+w : i+1+w+int(n)]
		switch id {
		case 12:
			return nil, 0, 0, errForm // passive segments are indexed: keep them
		case 11:
			segs, err := parseData(body)
			if err != nil {
				return nil, 0, 0, err
			}
			var size uint64
			for _, s := range segs {
				size = max(size, uint64(s.off)+uint64(len(s.data)))
			}
			if size > 256<<20 {
				return nil, 0, 0, errForm
			}
			image = make([]byte, size)
			for _, s := range segs {
				copy(image[s.off:], s.data)
			}
			return image, i, i + 1 + w + int(n), nil
		}
		i += 1 + w + int(n)
	}
	return nil, 0, 0, errForm // no data section
}

// parseData reads segments of the form "flag 0, i32.const offset, end".
func parseData(b []byte) ([]segment, error) {
	count, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, errForm
	}
	b = b[w:]
	// The count is the module's word: a segment takes at least 5 bytes,
	// so a count the section cannot hold is a lie, and reserving room for
	// it (a 49-byte module claimed 2^42) was a fatal out of memory.
	if count > uint64(len(b))/5 {
		return nil, errForm
	}
	segs := make([]segment, 0, count)
	for range count {
		if len(b) < 2 || b[0] != 0 || b[1] != 0x41 {
			return nil, errForm
		}
		o, w := readSleb(b[2:])
		if w <= 0 || len(b) < 2+w+1 || b[2+w] != 0x0b || o < 0 {
			return nil, errForm
		}
		b = b[2+w+1:]
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, errForm
		}
		segs = append(segs, segment{off: uint32(o), data: b[w : w+int(n)]})
		b = b[w+int(n):]
	}
	if len(b) != 0 {
		return nil, errForm
	}
	return segs, nil
}

// readSleb reads a signed LEB128 i32.
func readSleb(b []byte) (int64, int) {
	var r int64
	var shift uint
	for i := 0; i < len(b) && i < 5; i++ {
		c := b[i]
		r |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			if c&0x40 != 0 {
				r -= 1 << shift
			}
			return r, i + 1
		}
	}
	return 0, -1
}

// runs cuts a memory image into segments of non-zero bytes, joined
// across runs of zeros up to mergeGap: a fresh memory is zero, so leaving
// zeros out or writing them gives the same memory.
func runs(image []byte) []segment {
	var out []segment
	start, end := -1, -1 // the run being built: [start, end) ends on a non-zero byte
	for i, c := range image {
		if c == 0 {
			continue
		}
		if start >= 0 && i-end > mergeGap {
			out = append(out, segment{off: uint32(start), data: image[start:end]})
			start = -1
		}
		if start < 0 {
			start = i
		}
		end = i + 1
	}
	if start >= 0 {
		out = append(out, segment{off: uint32(start), data: image[start:end]})
	}
	return out
}

// dataSection encodes segments as a data section (id, size, body).
func dataSection(segs []segment) []byte {
	body := binary.AppendUvarint(nil, uint64(len(segs)))
	for _, s := range segs {
		body = append(body, 0, 0x41)
		body = appendSleb(body, int64(int32(s.off)))
		body = append(body, 0x0b)
		body = binary.AppendUvarint(body, uint64(len(s.data)))
		body = append(body, s.data...)
	}
	out := append([]byte{11}, binary.AppendUvarint(nil, uint64(len(body)))...)
	return append(out, body...)
}

func appendSleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
