// Package api holds the wire types of Ferry's REST API. Field names follow
// the OpenFaaS contract exactly so that faas-cli and existing tooling work
// unchanged; Ferry-only additions are optional fields that old clients ignore.
package api

import "time"

// DefaultNamespace is used when a request names no namespace.
const DefaultNamespace = "openfaas-fn"

// FunctionDeployment is the body of POST/PUT /system/functions.
type FunctionDeployment struct {
	Service                string            `json:"service"`
	Image                  string            `json:"image"`
	Namespace              string            `json:"namespace,omitempty"`
	EnvProcess             string            `json:"envProcess,omitempty"`
	EnvVars                map[string]string `json:"envVars,omitempty"`
	Constraints            []string          `json:"constraints,omitempty"`
	Secrets                []string          `json:"secrets,omitempty"`
	Labels                 map[string]string `json:"labels,omitempty"`
	Annotations            map[string]string `json:"annotations,omitempty"`
	Limits                 *Resources        `json:"limits,omitempty"`
	Requests               *Resources        `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool              `json:"readOnlyRootFilesystem,omitempty"`
}

// Resources are Kubernetes-style quantities ("128Mi", "500m").
type Resources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
	// GPU and other extended resources, e.g. "nvidia.com/gpu".
	Extra map[string]string `json:"-"`
}

// FunctionStatus is returned by GET /system/functions and /system/function/NAME.
type FunctionStatus struct {
	Name                   string            `json:"name"`
	Image                  string            `json:"image"`
	Namespace              string            `json:"namespace,omitempty"`
	EnvProcess             string            `json:"envProcess,omitempty"`
	EnvVars                map[string]string `json:"envVars,omitempty"`
	Constraints            []string          `json:"constraints,omitempty"`
	Secrets                []string          `json:"secrets,omitempty"`
	Labels                 map[string]string `json:"labels,omitempty"`
	Annotations            map[string]string `json:"annotations,omitempty"`
	Limits                 *Resources        `json:"limits,omitempty"`
	Requests               *Resources        `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool              `json:"readOnlyRootFilesystem,omitempty"`

	InvocationCount   float64        `json:"invocationCount"`
	Replicas          uint64         `json:"replicas"`
	AvailableReplicas uint64         `json:"availableReplicas"`
	CreatedAt         time.Time      `json:"createdAt"`
	Usage             *FunctionUsage `json:"usage,omitempty"`

	// Ferry additions (ignored by faas-cli).
	// Status is StateOf the rest, filled in by the gateway.
	Status        string `json:"status,omitempty"`
	ReadyReplicas uint64 `json:"readyReplicas"`
	// Restarts counts replicas that exited and were started again since
	// the server started (a crash loop shows here first).
	Restarts   uint64         `json:"restarts,omitempty"`
	Conditions []Condition    `json:"conditions,omitempty"`
	Autoscaler *ScaleDecision `json:"autoscaler,omitempty"`
}

// FunctionUsage is the resource use summed over a function's replicas.
type FunctionUsage struct {
	CPU              float64 `json:"cpu"`
	TotalMemoryBytes float64 `json:"totalMemoryBytes"`
}

// Condition explains something about a function a user should know, e.g.
// why it is not ready or that its limits are not enforced on this host.
type Condition struct {
	Type    string    `json:"type"`   // e.g. "Ready", "LimitsEnforced", "ScaleLabels"
	Status  string    `json:"status"` // "True", "False", "Unknown"
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time,omitempty"`
}

// ScaleDecision is the autoscaler's last decision for a function.
type ScaleDecision struct {
	Time     time.Time `json:"time"`
	From     uint64    `json:"from"`
	To       uint64    `json:"to"`
	Reason   string    `json:"reason"`
	Desired  uint64    `json:"desired"`
	Observed float64   `json:"observed"`
}

// DeleteFunctionRequest is the body of DELETE /system/functions.
type DeleteFunctionRequest struct {
	FunctionName string `json:"functionName"`
	Namespace    string `json:"namespace,omitempty"`
}

// ScaleServiceRequest is the body of POST /system/scale-function/NAME.
type ScaleServiceRequest struct {
	ServiceName string `json:"serviceName"`
	Replicas    uint64 `json:"replicas"`
	Namespace   string `json:"namespace,omitempty"`
}

// Secret is the body of POST/PUT/DELETE /system/secrets. Value and RawValue
// are write-only: the API never returns them.
type Secret struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
	RawValue  []byte `json:"rawValue,omitempty"`
}

// Namespace is the body of the /system/namespace/NS routes.
type Namespace struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// LogMessage is one NDJSON line of GET /system/logs.
type LogMessage struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Instance  string    `json:"instance"`
	Timestamp time.Time `json:"timestamp"`
	Text      string    `json:"text"`
}

// LogRequest is the parsed query of GET /system/logs.
type LogRequest struct {
	Name      string
	Namespace string
	Instance  string
	Since     *time.Time
	Tail      int // <0: all
	Follow    bool
}

// Info is the body of GET /system/info.
type Info struct {
	Provider ProviderInfo `json:"provider"`
	Version  VersionInfo  `json:"version"`
	Arch     string       `json:"arch"`
}

// ProviderInfo describes the backend that runs functions.
type ProviderInfo struct {
	Name          string      `json:"provider"`
	Orchestration string      `json:"orchestration"`
	Version       VersionInfo `json:"version"`
}

// VersionInfo is a build's commit and release.
type VersionInfo struct {
	SHA     string `json:"sha"`
	Release string `json:"release"`
}
