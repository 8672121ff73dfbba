//go:build !unix

package procs

import "time"

// processCPU is unknown here: the governor stays off.
func processCPU() time.Duration { return -1 }
