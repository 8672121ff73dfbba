// Package stack reads faas-cli's stack.yml: the schema, ${VAR:-default}
// expansion, environment files, filters, and the FunctionDeployment each
// function becomes.
package stack

// Stack is a whole stack.yml file.
type Stack struct {
	Version       string              `yaml:"version,omitempty"`
	Provider      Provider            `yaml:"provider,omitempty"`
	Functions     map[string]Function `yaml:"functions"`
	Configuration Configuration       `yaml:"configuration,omitempty"`
	// Dir is the folder of the stack file: handler paths are relative to it.
	Dir string `yaml:"-"`
	// File is the stack file's path, for error messages.
	File string `yaml:"-"`
}

// Provider is the `provider:` section.
type Provider struct {
	Name    string `yaml:"name,omitempty"`
	Gateway string `yaml:"gateway,omitempty"`
	Network string `yaml:"network,omitempty"`
}

// Configuration is the `configuration:` section.
type Configuration struct {
	Templates      []TemplateSource `yaml:"templates,omitempty"`
	CopyExtraPaths []string         `yaml:"copy,omitempty"`
}

// TemplateSource names a template repository.
type TemplateSource struct {
	Name   string `yaml:"name"`
	Source string `yaml:"source,omitempty"`
}

// Function is one entry under `functions:`.
type Function struct {
	Name                   string            `yaml:"-"`
	Lang                   string            `yaml:"lang,omitempty"`
	Handler                string            `yaml:"handler,omitempty"`
	Image                  string            `yaml:"image,omitempty"`
	FProcess               string            `yaml:"fprocess,omitempty"`
	Environment            map[string]string `yaml:"environment,omitempty"`
	EnvironmentFile        []string          `yaml:"environment_file,omitempty"`
	Secrets                []string          `yaml:"secrets,omitempty"`
	Labels                 map[string]string `yaml:"labels,omitempty"`
	Annotations            map[string]string `yaml:"annotations,omitempty"`
	Limits                 *Resources        `yaml:"limits,omitempty"`
	Requests               *Resources        `yaml:"requests,omitempty"`
	Constraints            []string          `yaml:"constraints,omitempty"`
	ReadOnlyRootFilesystem bool              `yaml:"readonly_root_filesystem,omitempty"`
	BuildArgs              map[string]string `yaml:"build_args,omitempty"`
	BuildOptions           []string          `yaml:"build_options,omitempty"`
	Namespace              string            `yaml:"namespace,omitempty"`
	SkipBuild              bool              `yaml:"skip_build,omitempty"`
}

// Resources is `limits:` / `requests:`.
type Resources struct {
	Memory string `yaml:"memory,omitempty"`
	CPU    string `yaml:"cpu,omitempty"`
	// Extra holds extended resources such as nvidia.com/gpu.
	Extra map[string]string `yaml:"-"`
}
