package cli

import (
	"github.com/ferryfaas/ferry/api"
	"github.com/spf13/cobra"
)

// deployFlags are the per-function settings `deploy` and `up` accept on
// the command line; they override (maps: merge over) the stack file's.
type deployFlags struct {
	file, filter, regex      string
	namespace, fprocess      string
	env, labels, annotations []string
	secrets, constraints     []string
	readOnly                 bool
	memLimit, cpuLimit       string
	memRequest, cpuRequest   string
}

func (f *deployFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&f.file, "yaml", "f", "stack.yml", "stack file")
	fs.StringVar(&f.filter, "filter", "", "only functions whose names match this glob, e.g. 'api-*'")
	fs.StringVar(&f.regex, "regex", "", "only functions whose names match this regular expression")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace to deploy into (overrides the stack file)")
	fs.StringVar(&f.fprocess, "fprocess", "", "command the watchdog runs (env fprocess)")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "environment variable KEY=VALUE (repeatable)")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "label KEY=VALUE (repeatable), e.g. com.openfaas.scale.max=5")
	fs.StringArrayVar(&f.annotations, "annotation", nil, "annotation KEY=VALUE (repeatable)")
	fs.StringArrayVar(&f.secrets, "secret", nil, "secret the function may read (repeatable)")
	fs.StringArrayVar(&f.constraints, "constraint", nil, "placement constraint (repeatable)")
	fs.BoolVar(&f.readOnly, "readonly", false, "read-only root filesystem")
	fs.StringVar(&f.memLimit, "memory-limit", "", "memory limit, e.g. 128Mi")
	fs.StringVar(&f.cpuLimit, "cpu-limit", "", "CPU limit, e.g. 500m")
	fs.StringVar(&f.memRequest, "memory-request", "", "memory request, e.g. 64Mi")
	fs.StringVar(&f.cpuRequest, "cpu-request", "", "CPU request, e.g. 100m")
}

// apply writes the flags over d and checks the result like the gateway
// would, so mistakes are reported before anything is sent.
func (f *deployFlags) apply(d *api.FunctionDeployment) error {
	if f.namespace != "" {
		d.Namespace = f.namespace
	}
	if f.fprocess != "" {
		d.EnvProcess = f.fprocess
	}
	for _, kv := range []struct {
		flag string
		in   []string
		dst  *map[string]string
	}{{"env", f.env, &d.EnvVars}, {"label", f.labels, &d.Labels}, {"annotation", f.annotations, &d.Annotations}} {
		m, err := parseKV(kv.flag, kv.in)
		if err != nil {
			return err
		}
		for k, v := range m {
			if *kv.dst == nil {
				*kv.dst = map[string]string{}
			}
			(*kv.dst)[k] = v
		}
	}
	d.Secrets = appendNew(d.Secrets, f.secrets)
	d.Constraints = appendNew(d.Constraints, f.constraints)
	if f.readOnly {
		d.ReadOnlyRootFilesystem = true
	}
	setRes := func(r **api.Resources, mem, cpu string) {
		if mem == "" && cpu == "" {
			return
		}
		if *r == nil {
			*r = &api.Resources{}
		}
		if mem != "" {
			(*r).Memory = mem
		}
		if cpu != "" {
			(*r).CPU = cpu
		}
	}
	setRes(&d.Limits, f.memLimit, f.cpuLimit)
	setRes(&d.Requests, f.memRequest, f.cpuRequest)
	check := *d
	if err := check.Validate(api.DefaultNamespace); err != nil {
		return err
	}
	return nil
}

func appendNew(list, add []string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			found = found || l == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}
