package wasmrt

import (
	"encoding/binary"
	"fmt"
)

// tableEntryBytes is what wazero allocates per table entry (a reference),
// in the host's heap at every instantiation.
const tableEntryBytes = 8

// capTables bounds the module's tables, which wazero allocates outside the
// linear memory and so outside limits.memory's page cap: a table with no
// maximum gets its minimum as maximum (table.grow then fails in the guest
// instead of growing the host: compilers for WASI size their one table
// for the whole program, Go's included), and it returns the bytes the
// tables take in each instance, for the caller to count against the
// limit. A table section of a form it does not know is an error.
func capTables(bin []byte) ([]byte, uint64, error) {
	secs, err := sections(bin)
	if err != nil {
		return bin, 0, nil // the compiler says what is wrong
	}
	for _, sec := range secs {
		if sec.id != 4 {
			continue
		}
		body, size, err := boundTables(sec.body)
		if err != nil {
			return nil, 0, err
		}
		return replaceSection(bin, sec, 4, body), size, nil
	}
	return bin, 0, nil
}

// boundTables rewrites a table section's limits (see capTables).
func boundTables(b []byte) ([]byte, uint64, error) {
	count, w := binary.Uvarint(b)
	if w <= 0 || count > uint64(len(b)) {
		return nil, 0, fmt.Errorf("table section of an unknown form")
	}
	b = b[w:]
	out := binary.AppendUvarint(nil, count)
	var size uint64
	for range count {
		if len(b) < 2 {
			return nil, 0, fmt.Errorf("table section of an unknown form")
		}
		ref, flag := b[0], b[1]
		min, w := binary.Uvarint(b[2:])
		if w <= 0 || (flag != 0 && flag != 1) {
			return nil, 0, fmt.Errorf("table section of an unknown form (limits flag %#x)", flag)
		}
		b = b[2+w:]
		max := min
		if flag == 1 {
			if max, w = binary.Uvarint(b); w <= 0 {
				return nil, 0, fmt.Errorf("table section of an unknown form")
			}
			b = b[w:]
		}
		if max > 1<<32 {
			max = 1 << 32
		}
		size += max * tableEntryBytes
		out = binary.AppendUvarint(binary.AppendUvarint(append(out, ref, 1), min), max)
	}
	if len(b) != 0 {
		return nil, 0, fmt.Errorf("table section of an unknown form")
	}
	return out, size, nil
}
