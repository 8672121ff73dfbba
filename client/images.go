package client

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
)

// ImportImage sends an image archive (a docker archive or an OCI layout,
// folder or tar, as `ferry build --image` writes) to POST /system/images
// and returns the image names the gateway's containerd runtime created. A
// folder is sent as a tar made on the fly.
func (c *Client) ImportImage(ctx context.Context, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image %s: %v: build it with `ferry build --image`", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var body io.Reader = sizedReader{f, fi.Size()}
	if fi.IsDir() {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			err := tw.AddFS(os.DirFS(path))
			if err == nil {
				err = tw.Close()
			}
			pw.CloseWithError(err)
		}()
		defer pr.Close()
		body = pr
	}
	res, err := c.do(ctx, http.MethodPost, "/system/images", nil, body, http.Header{
		"Content-Type": {"application/x-tar"},
	})
	if err != nil {
		return nil, fmt.Errorf("importing image %s: %w", path, err)
	}
	var out struct {
		Images []string `json:"images"`
	}
	if err := decode(res, &out); err != nil {
		return nil, err
	}
	return out.Images, nil
}
