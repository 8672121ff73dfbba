package kubernetes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ferryfaas/ferry/api"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Function objects (openfaas.com/v1 Function, what `faas-cli generate`
// writes) are the GitOps way in: the leader gateway reconciles each into
// the same Deployment and Service a REST deploy makes, owned by the object
// (deleting it removes them), and reports on it in status.conditions. A
// REST deploy makes no object; a function made from an object is changed
// or deleted through the object only (the REST API answers 409), so the
// two never disagree about what exists.

// FunctionGVR is the Function custom resource.
var FunctionGVR = schema.GroupVersionResource{Group: "openfaas.com", Version: "v1", Resource: "functions"}

// annGeneration on a Deployment is the generation of the Function object
// it was last made from, so an unchanged object costs no API write.
const annGeneration = "com.ferryfaas.function-generation"

// functionObject is the part of a Function object Ferry reads; the spec
// fields are OpenFaaS's (faas-netes pkg/apis/openfaas/v1).
type functionObject struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Name                   string            `json:"name"`
		Image                  string            `json:"image"`
		Handler                string            `json:"handler,omitempty"` // build-time only
		Annotations            map[string]string `json:"annotations,omitempty"`
		Labels                 map[string]string `json:"labels,omitempty"`
		Environment            map[string]string `json:"environment,omitempty"`
		Constraints            []string          `json:"constraints,omitempty"`
		Secrets                []string          `json:"secrets,omitempty"`
		Limits                 *api.Resources    `json:"limits,omitempty"`
		Requests               *api.Resources    `json:"requests,omitempty"`
		ReadOnlyRootFilesystem bool              `json:"readOnlyRootFilesystem,omitempty"`
	} `json:"spec"`
	Status functionStatus `json:"status"`
}

type functionStatus struct {
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
}

func decodeFunction(u *unstructured.Unstructured) (*functionObject, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	var fo functionObject
	if err := json.Unmarshal(b, &fo); err != nil {
		return nil, api.BadRequest("Function %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	return &fo, nil
}

// deployment is the object as a REST deployment, validated as one.
func (fo *functionObject) deployment() (api.FunctionDeployment, error) {
	s := fo.Spec
	if s.Name != "" && s.Name != fo.Metadata.Name {
		return api.FunctionDeployment{}, api.BadRequest("field \"spec.name\": %q differs from metadata.name %q", s.Name, fo.Metadata.Name)
	}
	d := api.FunctionDeployment{Service: fo.Metadata.Name, Namespace: fo.Metadata.Namespace, Image: s.Image,
		EnvVars: s.Environment, Labels: s.Labels, Annotations: s.Annotations, Secrets: s.Secrets, Constraints: s.Constraints,
		Limits: s.Limits, Requests: s.Requests, ReadOnlyRootFilesystem: s.ReadOnlyRootFilesystem}
	return d, d.Validate(fo.Metadata.Namespace)
}

// origin is the Function object a Deployment is made from.
type origin struct {
	ref        metav1.OwnerReference
	generation int64
}

func (fo *functionObject) origin() *origin {
	return &origin{generation: fo.Metadata.Generation, ref: metav1.OwnerReference{
		APIVersion: FunctionGVR.GroupVersion().String(), Kind: "Function", Name: fo.Metadata.Name, UID: fo.Metadata.UID}}
}

// mark makes the objects owned by the Function object, so the cluster's
// garbage collector removes them with it even while no gateway runs
// (nil-safe: a REST deploy has no origin).
func (o *origin) mark(dep *appsv1.Deployment, svc *corev1.Service) {
	if o == nil {
		return
	}
	dep.OwnerReferences = []metav1.OwnerReference{o.ref}
	if dep.Annotations == nil {
		dep.Annotations = map[string]string{}
	}
	dep.Annotations[annGeneration] = strconv.FormatInt(o.generation, 10)
	if svc != nil {
		svc.OwnerReferences = []metav1.OwnerReference{o.ref}
	}
}

// functionOwner is the Function object a Deployment was made from.
func functionOwner(d metav1.Object) *metav1.OwnerReference {
	for _, o := range d.GetOwnerReferences() {
		if o.Kind == "Function" && o.APIVersion == FunctionGVR.GroupVersion().String() {
			return &o
		}
	}
	return nil
}

// managedByObject refuses REST changes to a function made from a Function
// object: the object would put them back.
func managedByObject(d *appsv1.Deployment) error {
	if o := functionOwner(d); o != nil {
		return api.Errorf(http.StatusConflict, "function %s is made from the Function object %s/%s: change or delete that object (kubectl edit/delete function %s -n %s)",
			d.Name, d.Namespace, o.Name, o.Name, d.Namespace)
	}
	return nil
}

// condition builds the object's Ready condition.
func condition(gen int64, ok bool, reason, format string, args ...any) metav1.Condition {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	return metav1.Condition{Type: "Ready", Status: st, Reason: reason, Message: fmt.Sprintf(format, args...), ObservedGeneration: gen}
}

// reasonOf names an apply error's cause for a condition.
func reasonOf(err error) string {
	switch api.StatusOf(err) {
	case http.StatusBadRequest:
		return "InvalidSpec"
	case http.StatusForbidden:
		return "NamespaceNotEnabled"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusConflict:
		return "Conflict"
	}
	return "DeployFailed"
}
