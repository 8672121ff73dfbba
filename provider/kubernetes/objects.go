package kubernetes

import (
	"sort"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/api"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Labels and annotations that tie Kubernetes objects to Ferry (faas-netes
// names where they exist, so OpenFaaS tooling keeps working).
const (
	LabelFunction     = "faas_function"
	LabelNamespace    = "openfaas" // value "1" marks a function namespace
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	ManagedBy         = "ferry"
	AnnotationSpec    = "com.ferryfaas.spec" // the FunctionDeployment's own labels/annotations, for round trips
	secretsMountPath  = "/var/openfaas/secrets"
	watchdogPort      = 8080
	defaultMemLimit   = "256Mi"
	defaultMemRequest = "64Mi"
	defaultCPURequest = "50m"
	defaultCPULimit   = "1"
	runAsUser         = 65534 // "nobody", the user of images from `ferry build`
)

// Objects builds the Deployment and Service for a function. It is a pure
// function of its input so that it can be golden-tested.
func Objects(d api.FunctionDeployment, replicas int32) (*appsv1.Deployment, *corev1.Service, error) {
	labels := map[string]string{}
	for k, v := range d.Labels {
		labels[k] = v
	}
	labels[LabelFunction] = d.Service
	selector := map[string]string{LabelFunction: d.Service}

	annotations := map[string]string{}
	for k, v := range d.Annotations {
		annotations[k] = v
	}

	env := []corev1.EnvVar{}
	if d.EnvProcess != "" {
		env = append(env, corev1.EnvVar{Name: "fprocess", Value: d.EnvProcess})
	}
	keys := make([]string, 0, len(d.EnvVars))
	for k := range d.EnvVars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, corev1.EnvVar{Name: k, Value: d.EnvVars[k]})
	}

	res, err := resources(d.Limits, d.Requests)
	if err != nil {
		return nil, nil, err
	}
	probe := func(path string, period int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: path, Port: intstr.FromInt32(watchdogPort), Scheme: corev1.URISchemeHTTP}},
			PeriodSeconds: period, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1,
		}
	}
	f, t := false, true
	uid := int64(runAsUser)
	container := corev1.Container{
		Name:            d.Service,
		Image:           d.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: watchdogPort, Protocol: corev1.ProtocolTCP}},
		Env:             env,
		Resources:       res,
		ReadinessProbe:  probe("/_/ready", 1),
		LivenessProbe:   probe("/_/health", 5),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &t,
			RunAsUser:                &uid,
			RunAsGroup:               &uid,
			AllowPrivilegeEscalation: &f,
			ReadOnlyRootFilesystem:   &d.ReadOnlyRootFilesystem,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	var volumes []corev1.Volume
	if len(d.Secrets) > 0 {
		var sources []corev1.VolumeProjection
		for _, s := range d.Secrets {
			sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: s}}})
		}
		mode := int32(0o444)
		volumes = append(volumes, corev1.Volume{Name: d.Service + "-projected-secrets", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: sources, DefaultMode: &mode}}})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name: d.Service + "-projected-secrets", MountPath: secretsMountPath, ReadOnly: true})
	}
	if d.ReadOnlyRootFilesystem {
		volumes = append(volumes, corev1.Volume{Name: "temp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{Name: "temp", MountPath: "/tmp"})
	}
	nodeSelector := map[string]string{}
	for _, c := range d.Constraints {
		k, v, ok := strings.Cut(c, "==")
		if !ok {
			k, v, ok = strings.Cut(c, "=")
		}
		if !ok {
			return nil, nil, api.BadRequest("field \"constraints\": %q is not key=value", c)
		}
		nodeSelector[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(nodeSelector) == 0 {
		nodeSelector = nil
	}
	maxUnavailable, maxSurge := intstr.FromInt32(0), intstr.FromInt32(1)
	automount := false
	grace := int64(30)
	if to := timeoutSeconds(d.EnvVars); to > grace {
		grace = to
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: d.Service, Namespace: d.Namespace, Labels: labels, Annotations: annotations},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge}},
			RevisionHistoryLimit: ptr(int32(5)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec: corev1.PodSpec{
					Containers:                    []corev1.Container{container},
					Volumes:                       volumes,
					NodeSelector:                  nodeSelector,
					AutomountServiceAccountToken:  &automount,
					EnableServiceLinks:            &f,
					TerminationGracePeriodSeconds: &grace,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   &t,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: d.Service, Namespace: d.Namespace,
			Labels: map[string]string{LabelFunction: d.Service, LabelManagedBy: ManagedBy}},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selector,
			Ports: []corev1.ServicePort{{Name: "http", Port: watchdogPort, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(watchdogPort)}},
		},
	}
	return dep, svc, nil
}

// resources fills defaults so no function pod runs unbounded: requests
// default small, limits default to a memory cap and one CPU.
func resources(lim, req *api.Resources) (corev1.ResourceRequirements, error) {
	out := corev1.ResourceRequirements{Limits: corev1.ResourceList{}, Requests: corev1.ResourceList{}}
	set := func(list corev1.ResourceList, name corev1.ResourceName, v, def, field string) error {
		if v == "" {
			v = def
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return api.BadRequest("field %q: %q is not a quantity", field, v)
		}
		list[name] = q
		return nil
	}
	var l, r api.Resources
	if lim != nil {
		l = *lim
	}
	if req != nil {
		r = *req
	}
	for _, s := range []struct {
		list      corev1.ResourceList
		name      corev1.ResourceName
		v, def, f string
	}{
		{out.Limits, corev1.ResourceMemory, l.Memory, defaultMemLimit, "limits.memory"},
		{out.Limits, corev1.ResourceCPU, l.CPU, defaultCPULimit, "limits.cpu"},
		{out.Requests, corev1.ResourceMemory, r.Memory, defaultMemRequest, "requests.memory"},
		{out.Requests, corev1.ResourceCPU, r.CPU, defaultCPURequest, "requests.cpu"},
	} {
		if err := set(s.list, s.name, s.v, s.def, s.f); err != nil {
			return out, err
		}
	}
	for k, v := range l.Extra {
		if err := set(out.Limits, corev1.ResourceName(k), v, "", "limits."+k); err != nil {
			return out, err
		}
	}
	// A request above its (default) limit is invalid: lift the limit.
	for _, n := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceCPU} {
		if rq, lm := out.Requests[n], out.Limits[n]; rq.Cmp(lm) > 0 {
			out.Limits[n] = rq
		}
	}
	return out, nil
}

func timeoutSeconds(env map[string]string) int64 {
	var max int64
	for _, k := range []string{"exec_timeout", "write_timeout"} {
		if n, err := strconv.ParseFloat(strings.TrimSuffix(env[k], "s"), 64); err == nil && int64(n)+5 > max {
			max = int64(n) + 5
		}
	}
	return max
}

func ptr[T any](v T) *T { return &v }
