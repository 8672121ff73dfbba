package stack

import (
	"maps"
	"slices"

	"github.com/ferryfaas/ferry/api"
)

// Deployment turns a function of the stack into the body of
// POST/PUT /system/functions, as faas-cli deploy does. builtImage, when not
// empty, replaces fn.Image (e.g. the image a build just produced); with
// neither, the function's name is used, which is what the artifact-based
// process runtime keys on. Environment must already include
// environment_file entries (Load merges them).
func Deployment(fn Function, builtImage string) api.FunctionDeployment {
	img := builtImage
	if img == "" {
		img = fn.Image
	}
	if img == "" {
		img = fn.Name
	}
	return api.FunctionDeployment{
		Service:                fn.Name,
		Image:                  img,
		Namespace:              fn.Namespace,
		EnvProcess:             fn.FProcess,
		EnvVars:                cloneMap(fn.Environment),
		Constraints:            slices.Clone(fn.Constraints),
		Secrets:                slices.Clone(fn.Secrets),
		Labels:                 cloneMap(fn.Labels),
		Annotations:            cloneMap(fn.Annotations),
		Limits:                 resources(fn.Limits),
		Requests:               resources(fn.Requests),
		ReadOnlyRootFilesystem: fn.ReadOnlyRootFilesystem,
	}
}

func resources(r *Resources) *api.Resources {
	if r == nil || r.Memory == "" && r.CPU == "" && len(r.Extra) == 0 {
		return nil
	}
	return &api.Resources{Memory: r.Memory, CPU: r.CPU, Extra: cloneMap(r.Extra)}
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
