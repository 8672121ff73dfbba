//go:build !unix

package governor

import "time"

// processCPU is unknown here: the governor stays off.
func processCPU() time.Duration { return -1 }
