//go:build !linux

package cli

import (
	"context"
	"errors"

	"github.com/ferryfaas/ferry/provider/process"
)

func useContainerd(context.Context, serveFlags, *Server, *process.Config) error {
	return errors.New("--runtime containerd needs Linux")
}
