package wasmrt

import (
	"encoding/binary"
	"strconv"
)

// A reactor module (Go's -buildmode=c-shared for wasip1) starts in
// _initialize, which runs the Go runtime's start and the package inits,
// and then serves calls of its exported handler. Starting Go costs
// milliseconds; the rewrites below let the runtime pay it once per
// version: the module is run to the end of _initialize once, its memory
// and globals are saved (snapshot.go), and every call starts a module
// whose globals start at the saved values and whose memory is a copy on
// write mapping of the saved memory.

// Exports of a reactor module the runtime needs.
const (
	initExport   = "_initialize"
	handleExport = "handle"
	globalPrefix = "ferry.global."
)

// section is one section of a module: its id and body, bin[at:end] in
// all (id and size included).
type section struct {
	id      byte
	at, end int
	body    []byte
}

// sections splits a module into its sections.
func sections(bin []byte) ([]section, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, errForm
	}
	var out []section
	for i := 8; i < len(bin); {
		n, w := binary.Uvarint(bin[i+1:])
		if w <= 0 || uint64(len(bin)-i-1-w) < n {
			return nil, errForm
		}
		end := i + 1 + w + int(n)
		out = append(out, section{id: bin[i], at: i, end: end, body: bin[i+1+w : end]})
		i = end
	}
	return out, nil
}

// global is a global the module defines (not imports).
type global struct {
	index int  // in the module's global index space
	typ   byte // 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64
	mut   bool
}

// globalsOf lists the globals a module defines, from its global section.
func globalsOf(secs []section) ([]global, error) {
	imported := 0
	var body []byte
	for _, s := range secs {
		switch s.id {
		case 2:
			_, n, err := importCounts(s.body)
			if err != nil {
				return nil, err
			}
			imported = n
		case 6:
			body = s.body
		}
	}
	if body == nil {
		return nil, nil
	}
	count, w := binary.Uvarint(body)
	if w <= 0 {
		return nil, errForm
	}
	body = body[w:]
	out := make([]global, 0, count)
	for i := range int(count) {
		if len(body) < 3 {
			return nil, errForm
		}
		g := global{index: imported + i, typ: body[0], mut: body[1] == 1}
		n := constExprLen(body[2:])
		if n <= 0 {
			return nil, errForm
		}
		out = append(out, g)
		body = body[2+n:]
	}
	if len(body) != 0 {
		return nil, errForm
	}
	return out, nil
}

// constExprLen is the length of a constant expression of one instruction
// and its end, or -1.
func constExprLen(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	n := 0
	switch b[0] {
	case 0x41, 0x42, 0x23: // i32.const, i64.const, global.get
		for n = 1; n < len(b) && n <= 10 && b[n]&0x80 != 0; n++ {
		}
		n++
	case 0x43:
		n = 5
	case 0x44:
		n = 9
	default:
		return -1
	}
	if n >= len(b) || b[n] != 0x0b {
		return -1
	}
	return n + 1
}

// importCounts counts the functions and the globals of an import section.
func importCounts(b []byte) (funcs, globals int, err error) {
	count, w := binary.Uvarint(b)
	if w <= 0 {
		return 0, 0, errForm
	}
	b = b[w:]
	for range count {
		for range 2 { // module and field names
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return 0, 0, errForm
			}
			b = b[w+int(n):]
		}
		if len(b) < 2 {
			return 0, 0, errForm
		}
		kind := b[0]
		b = b[1:]
		switch kind {
		case 0: // function: type index
			funcs++
			_, w := binary.Uvarint(b)
			if w <= 0 {
				return 0, 0, errForm
			}
			b = b[w:]
		case 1: // table: reftype, limits
			b = b[1:]
			fallthrough
		case 2: // memory: limits
			if len(b) == 0 {
				return 0, 0, errForm
			}
			flag := b[0]
			b = b[1:]
			for range 1 + int(flag&1) {
				_, w := binary.Uvarint(b)
				if w <= 0 {
					return 0, 0, errForm
				}
				b = b[w:]
			}
		case 3: // global: valtype, mut
			if len(b) < 2 {
				return 0, 0, errForm
			}
			b = b[2:]
			globals++
		default:
			return 0, 0, errForm
		}
	}
	return funcs, globals, nil
}

// exportGlobals adds an export of each mutable global the module defines
// (Go's globals, its stack pointer among them, are not exported), so the
// host can read them once _initialize has run.
func exportGlobals(bin []byte, secs []section, globals []global) ([]byte, error) {
	var exp *section
	for i := range secs {
		if secs[i].id == 7 {
			exp = &secs[i]
		}
	}
	if exp == nil {
		return nil, errForm // a reactor exports its handler
	}
	count, w := binary.Uvarint(exp.body)
	if w <= 0 {
		return nil, errForm
	}
	var added []byte
	n := count
	for _, g := range globals {
		if !g.mut {
			continue
		}
		name := globalPrefix + strconv.Itoa(g.index)
		added = binary.AppendUvarint(added, uint64(len(name)))
		added = append(added, name...)
		added = append(added, 3)
		added = binary.AppendUvarint(added, uint64(g.index))
		n++
	}
	body := binary.AppendUvarint(nil, n)
	body = append(append(body, exp.body[w:]...), added...)
	return replaceSection(bin, *exp, 7, body), nil
}

// callCode is the module every call instantiates: its mutable globals
// start at the saved values, its memory's minimum is the saved memory's
// size (so the instance sees it whole), and it has no data section (the
// saved memory holds what the segments wrote, and more) nor start section.
func callCode(bin []byte, secs []section, globals []global, values map[int]uint64, pages uint32) ([]byte, error) {
	out := append([]byte(nil), bin[:8]...)
	for _, s := range secs {
		switch s.id {
		case 5:
			body, err := memoryMin(s.body, pages)
			if err != nil {
				return nil, err
			}
			out = appendSection(out, 5, body)
		case 6:
			out = appendSection(out, 6, globalSection(s.body, globals, values))
		case 8, 11, 12:
			// start, data, data count: what they do is in the snapshot.
		default:
			out = append(out, bin[s.at:s.end]...)
		}
	}
	return out, nil
}

// memoryMin rewrites a memory section of one memory to a minimum of pages.
func memoryMin(b []byte, pages uint32) ([]byte, error) {
	if len(b) < 3 || b[0] != 1 || b[1] > 1 {
		return nil, errForm
	}
	flag := b[1]
	_, w := binary.Uvarint(b[2:])
	if w <= 0 {
		return nil, errForm
	}
	rest := b[2+w:]
	out := binary.AppendUvarint([]byte{1, flag}, uint64(pages))
	if flag == 1 {
		max, w := binary.Uvarint(rest)
		if w <= 0 || max < uint64(pages) {
			return nil, errForm
		}
	}
	return append(out, rest...), nil
}

// globalSection is a global section whose mutable globals start at the
// saved values.
func globalSection(old []byte, globals []global, values map[int]uint64) []byte {
	_, w := binary.Uvarint(old)
	old = old[w:]
	body := binary.AppendUvarint(nil, uint64(len(globals)))
	for _, g := range globals {
		n := 2 + constExprLen(old[2:])
		v, ok := values[g.index]
		if !g.mut || !ok {
			body = append(body, old[:n]...)
			old = old[n:]
			continue
		}
		old = old[n:]
		body = append(body, g.typ, 1)
		switch g.typ {
		case 0x7f:
			body = appendSleb(append(body, 0x41), int64(int32(uint32(v))))
		case 0x7e:
			body = appendSleb(append(body, 0x42), int64(v))
		case 0x7d:
			body = binary.LittleEndian.AppendUint32(append(body, 0x43), uint32(v))
		default:
			body = binary.LittleEndian.AppendUint64(append(body, 0x44), v)
		}
		body = append(body, 0x0b)
	}
	return body
}

func replaceSection(bin []byte, s section, id byte, body []byte) []byte {
	out := appendSection(append([]byte(nil), bin[:s.at]...), id, body)
	return append(out, bin[s.end:]...)
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = binary.AppendUvarint(append(out, id), uint64(len(body)))
	return append(out, body...)
}

// exportNames lists the names a module exports.
func exportNames(secs []section) map[string]bool {
	out := map[string]bool{}
	for _, s := range secs {
		if s.id != 7 {
			continue
		}
		b := s.body
		count, w := binary.Uvarint(b)
		if w <= 0 {
			return out
		}
		b = b[w:]
		for range count {
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return out
			}
			out[string(b[w:w+int(n)])] = true
			b = b[w+int(n):]
			if len(b) < 1 {
				return out
			}
			if _, w = binary.Uvarint(b[1:]); w <= 0 {
				return out
			}
			b = b[1+w:]
		}
	}
	return out
}
