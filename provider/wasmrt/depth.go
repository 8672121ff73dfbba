package wasmrt

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/tetratelabs/wazero"
)

// maxCallDepth bounds how deeply a guest's calls may nest. wazero grows a
// call's stack in the host's heap, doubling it up to about 100 MiB (its
// constant ceiling), and none of it counts against limits.memory or the
// server's budget: a guest recursing without end took about 160 MiB of
// host memory per call before wazero stopped it, so a hundred such calls
// at once would take 16 GiB. At this depth a guest's stack stays within a
// few tens of MiB; Go guests nest a few hundred calls deep serving a
// request, and a recursive descent over a deeply nested input a few
// thousand.
const maxCallDepth = 50_000

// capDepth rewrites a module so that every call of a function it defines
// goes through a small function (at the original index, so that calls,
// tables, exports and the start function need no change) that counts the
// depth in a new global, traps past maxCallDepth and calls the original
// body, appended after the module's functions. A module without functions
// is returned as it is; a section of a form it does not know is an error.
// Frames unwound by a wasm exception skip their count's decrement, so a
// guest throwing through many levels many times in one call (each call is
// a fresh instance) would reach the cap early; no compiler for WASI
// preview 1 that Ferry builds with emits exceptions.
func capDepth(bin []byte) ([]byte, error) {
	secs, err := sections(bin)
	if err != nil {
		return nil, err
	}
	var types [][]byte // param types of each function type
	var funcTypes []uint64
	var code *section
	importedFuncs, importedGlobals, globals := 0, 0, -1
	for i := range secs {
		s := &secs[i]
		switch s.id {
		case 1:
			if types, err = paramTypes(s.body); err != nil {
				return nil, err
			}
		case 2:
			if importedFuncs, importedGlobals, err = importCounts(s.body); err != nil {
				return nil, err
			}
		case 3:
			if funcTypes, err = uvarints(s.body); err != nil {
				return nil, err
			}
		case 6:
			n, w := binary.Uvarint(s.body)
			if w <= 0 {
				return nil, errForm
			}
			globals = int(n)
		case 10:
			code = s
		}
	}
	if len(funcTypes) == 0 || code == nil {
		return bin, nil
	}
	nCode, w := binary.Uvarint(code.body)
	if w <= 0 || nCode != uint64(len(funcTypes)) {
		return nil, fmt.Errorf("code section of an unknown form")
	}
	depth := uint64(importedGlobals + max(globals, 0))
	n := len(funcTypes)

	// Function section: the thunks' types, then the originals' again.
	fsec := binary.AppendUvarint(nil, uint64(2*n))
	for range 2 {
		for _, t := range funcTypes {
			if t >= uint64(len(types)) {
				return nil, fmt.Errorf("function of an unknown type %d", t)
			}
			fsec = binary.AppendUvarint(fsec, t)
		}
	}
	// Code section: the thunks, then the original bodies as they were.
	csec := binary.AppendUvarint(nil, uint64(2*n))
	for i, t := range funcTypes {
		csec = appendThunk(csec, depth, len(types[t]), uint64(importedFuncs+n+i))
	}
	csec = append(csec, code.body[w:]...)
	// Global section: the depth counter, a mutable i32 starting at 0.
	var gsec []byte
	counter := []byte{0x7f, 1, 0x41, 0, 0x0b}
	if globals < 0 {
		gsec = append([]byte{1}, counter...)
	}

	out := append([]byte(nil), bin[:8]...)
	for _, s := range secs {
		// A module without globals gets its global section where the
		// order of sections wants it: before export, start, element,
		// data count, code and data.
		if gsec != nil && (s.id >= 7 && s.id <= 12) {
			out = appendSection(out, 6, gsec)
			gsec = nil
		}
		switch s.id {
		case 3:
			out = appendSection(out, 3, fsec)
		case 6:
			n, w := binary.Uvarint(s.body)
			body := append(binary.AppendUvarint(nil, n+1), s.body[w:]...)
			out = appendSection(out, 6, append(body, counter...))
		case 10:
			out = appendSection(out, 10, csec)
		default:
			out = append(out, bin[s.at:s.end]...)
		}
	}
	return out, nil
}

// appendThunk appends the body of a function that counts one more level
// in global depth, traps past maxCallDepth, calls function inner with its
// params and counts the level off again (a trap ends the instance, so the
// count need not be undone then).
func appendThunk(out []byte, depth uint64, params int, inner uint64) []byte {
	g := func(b []byte, op byte) []byte { return binary.AppendUvarint(append(b, op), depth) }
	var b []byte
	b = append(b, 0) // no locals
	b = g(b, 0x23)   // global.get depth
	b = append(b, 0x41, 1, 0x6a)
	b = g(b, 0x24) // i32.const 1; i32.add; global.set depth
	b = g(b, 0x23)
	b = appendSleb(append(b, 0x41), maxCallDepth)
	b = append(b, 0x4b, 0x04, 0x40, 0x00, 0x0b) // i32.gt_u; if; unreachable; end
	for p := range params {
		b = binary.AppendUvarint(append(b, 0x20), uint64(p)) // local.get p
	}
	b = binary.AppendUvarint(append(b, 0x10), inner) // call inner
	b = g(b, 0x23)
	b = append(b, 0x41, 1, 0x6b)
	b = g(b, 0x24) // i32.const 1; i32.sub; global.set depth
	b = append(b, 0x0b)
	return append(binary.AppendUvarint(out, uint64(len(b))), b...)
}

// paramTypes reads a type section: each function type's param types.
// Value types are one byte each in the features wazero runs.
func paramTypes(b []byte) ([][]byte, error) {
	count, w := binary.Uvarint(b)
	if w <= 0 || count > uint64(len(b)) {
		return nil, errForm
	}
	b = b[w:]
	out := make([][]byte, 0, count)
	for range count {
		if len(b) == 0 || b[0] != 0x60 {
			return nil, fmt.Errorf("type section of an unknown form")
		}
		b = b[1:]
		var params []byte
		for k := range 2 {
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return nil, fmt.Errorf("type section of an unknown form")
			}
			vals := b[w : w+int(n)]
			for _, v := range vals {
				if (v < 0x7b || v > 0x7f) && v != 0x70 && v != 0x6f {
					return nil, fmt.Errorf("type section of an unknown form (value type %#x)", v)
				}
			}
			if k == 0 {
				params = vals
			}
			b = b[w+int(n):]
		}
		out = append(out, params)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("type section of an unknown form")
	}
	return out, nil
}

// uvarints reads a vector of unsigned LEB128 numbers.
func uvarints(b []byte) ([]uint64, error) {
	count, w := binary.Uvarint(b)
	if w <= 0 || count > uint64(len(b)) {
		return nil, errForm
	}
	b = b[w:]
	out := make([]uint64, 0, count)
	for range count {
		v, w := binary.Uvarint(b)
		if w <= 0 {
			return nil, errForm
		}
		out = append(out, v)
		b = b[w:]
	}
	if len(b) != 0 {
		return nil, errForm
	}
	return out, nil
}

// validate checks a module as written, with wazero's interpreter (which
// validates without generating machine code).
func validate(ctx context.Context, bin []byte) error {
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	m, err := r.CompileModule(ctx, bin)
	if err != nil {
		return err
	}
	return m.Close(ctx)
}
