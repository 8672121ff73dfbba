package builder

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferryfaas/ferry/templates"
)

func buildImage(ctx context.Context, o Options, tpl *templates.Template, entries []tarEntry, res *Result, outDir string, p *progress) error {
	return errors.New("image builds: not implemented yet")
}

var _ = fmt.Sprintf
