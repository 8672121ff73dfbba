package builder

import (
	"context"
	"errors"
)

// Build builds the artifact of o.Function and, if asked, its image.
func Build(ctx context.Context, o Options) (*Result, error) {
	return nil, errors.New("builder: not implemented yet")
}
