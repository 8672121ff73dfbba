package cli

import (
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/provider/process"
)

func TestProcessFlags(t *testing.T) {
	var cfg process.Config
	f := processFlags{defaultMemory: "0", defaultPids: 0, tmpSize: "8Mi"}
	if err := f.apply(&cfg); err != nil || cfg.DefaultMemory != -1 || cfg.DefaultPids != -1 || cfg.TmpSize != 8<<20 {
		t.Fatalf("none: %+v %v", cfg, err)
	}
	f = processFlags{defaultMemory: "1Mi", defaultPids: 64, tmpSize: "64Mi"}
	if err := f.apply(&cfg); err != nil || cfg.DefaultMemory != process.MinMemoryBytes || cfg.DefaultPids != 64 {
		t.Fatalf("below the floor: %+v %v", cfg, err)
	}
	for _, bad := range []processFlags{{defaultMemory: "lots", tmpSize: "1Mi"}, {defaultMemory: "1Gi", tmpSize: "0"}} {
		if err := bad.apply(&cfg); err == nil || !strings.Contains(err.Error(), "--") {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}
