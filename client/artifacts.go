package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
)

// UploadArtifact sends a build artifact to POST /system/artifacts with its
// digest in X-Artifact-Digest, unless HEAD /system/artifacts/sha256:HEX
// already answers 200. It returns the digest ("sha256:HEX") and whether
// bytes were sent.
func (c *Client) UploadArtifact(ctx context.Context, path string) (digest string, uploaded bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, fmt.Errorf("artifact %s: %v: run `ferry build` first", path, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return "", false, fmt.Errorf("artifact %s: %v", path, err)
	}
	digest = "sha256:" + hex.EncodeToString(h.Sum(nil))

	res, err := c.do(ctx, http.MethodHead, "/system/artifacts/"+digest, nil, nil, nil)
	if err == nil {
		discard(res)
		return digest, false, nil
	}
	if st := StatusOf(err); st != http.StatusNotFound && st != http.StatusMethodNotAllowed {
		return "", false, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", false, err
	}
	body := sizedReader{io.LimitReader(f, size), size}
	res, err = c.do(ctx, http.MethodPost, "/system/artifacts", nil, body, http.Header{
		"X-Artifact-Digest": {digest},
		"Content-Type":      {"application/octet-stream"},
	})
	if err != nil {
		return "", false, fmt.Errorf("uploading artifact %s: %w", path, err)
	}
	discard(res)
	return digest, true, nil
}

// sizedReader lets do set Content-Length for a streamed file.
type sizedReader struct {
	io.Reader
	n int64
}
