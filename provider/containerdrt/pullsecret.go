package containerdrt

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/ferryfaas/ferry/provider/containerd"
)

// PullSecretAnnotation names the Ferry secret (in the function's
// namespace) holding the registry login for its image: a docker
// config.json, as `docker login` writes and Kubernetes' docker-registry
// secrets hold. It plays the part of OpenFaaS's imagePullSecrets.
const PullSecretAnnotation = "com.ferryfaas.image-pull-secret"

// dockerConfig is the part of a docker config.json with logins.
type dockerConfig struct {
	Auths map[string]struct {
		Auth               string `json:"auth"`
		Username, Password string
	} `json:"auths"`
}

// authFor finds image's registry login in a docker config.json.
func authFor(image string, config []byte) (*containerd.Auth, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %v", image, err)
	}
	host := reference.Domain(named)
	var cfg dockerConfig
	if err := json.Unmarshal(config, &cfg); err != nil {
		// The parser's message may quote the secret: leave it out.
		return nil, fmt.Errorf("not a docker config.json (want {\"auths\": {\"%s\": {\"auth\": \"base64 of user:password\"}}})", host)
	}
	for key, a := range cfg.Auths {
		if registryHost(key) != host {
			continue
		}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				return nil, fmt.Errorf("auths[%q].auth is not the base64 of user:password", key)
			}
			return &containerd.Auth{Username: user, Password: pass}, nil
		}
		return &containerd.Auth{Username: a.Username, Password: a.Password}, nil
	}
	return nil, fmt.Errorf("it has no login for registry %s", host)
}

// registryHost turns a config.json key ("https://index.docker.io/v1/",
// "ghcr.io") into the host a reference names.
func registryHost(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key, _, _ = strings.Cut(key, "/")
	if key == "index.docker.io" || key == "registry-1.docker.io" {
		return "docker.io"
	}
	return key
}
