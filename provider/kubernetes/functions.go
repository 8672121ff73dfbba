package kubernetes

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/ferryfaas/ferry/api"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Deploy creates the function's Service and Deployment after checking that
// its namespace is marked for Ferry and its secrets exist, so that a bad
// request creates nothing.
func (p *Provider) Deploy(ctx context.Context, d api.FunctionDeployment) error {
	return p.deploy(ctx, d, nil)
}

// deploy is Deploy; from, when set, is the Function object the Deployment
// and Service are made from.
func (p *Provider) deploy(ctx context.Context, d api.FunctionDeployment, from *origin) error {
	if err := p.checkNamespace(ctx, d.Namespace); err != nil {
		return err
	}
	if err := p.checkSecrets(ctx, d.Namespace, d.Secrets); err != nil {
		return err
	}
	if _, err := p.routes.deps.Deployments(d.Namespace).Get(d.Service); err == nil {
		return api.Conflict("function", d.Service)
	}
	dep, svc, err := p.objects(d, 1)
	if err != nil {
		return err
	}
	from.mark(dep, svc)
	if _, err := p.client.CoreV1().Services(d.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return kerr(err, "create service")
	}
	made, err := p.client.AppsV1().Deployments(d.Namespace).Create(ctx, dep, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			return api.Conflict("function", d.Service)
		}
		return kerr(err, "create deployment")
	}
	p.settle(ctx, d.Namespace, d.Service, sawCreate(made.UID))
	return nil
}

// Update replaces the pod template (a rolling update with no unavailable
// replica) and keeps the current replica count. A function made from a
// Function object is changed through the object only.
func (p *Provider) Update(ctx context.Context, d api.FunctionDeployment) error {
	return p.update(ctx, d, nil)
}

func (p *Provider) update(ctx context.Context, d api.FunctionDeployment, from *origin) error {
	if err := p.checkNamespace(ctx, d.Namespace); err != nil {
		return err
	}
	cur, err := p.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Service, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return api.NotFound("function", d.Service)
		}
		return kerr(err, "get deployment")
	}
	if from == nil {
		if err := managedByObject(cur); err != nil {
			return err
		}
	}
	if err := p.checkSecrets(ctx, d.Namespace, d.Secrets); err != nil {
		return err
	}
	replicas := int32(1)
	if cur.Spec.Replicas != nil {
		replicas = *cur.Spec.Replicas
	}
	dep, svc, err := p.objects(d, replicas)
	if err != nil {
		return err
	}
	dep.ResourceVersion = cur.ResourceVersion
	dep.OwnerReferences = cur.OwnerReferences
	from.mark(dep, nil)
	updated, err := p.client.AppsV1().Deployments(d.Namespace).Update(ctx, dep, metav1.UpdateOptions{})
	if err != nil {
		return kerr(err, "update deployment")
	}
	if _, err := p.client.CoreV1().Services(d.Namespace).Get(ctx, d.Service, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		p.client.CoreV1().Services(d.Namespace).Create(ctx, svc, metav1.CreateOptions{})
	}
	p.settle(ctx, d.Namespace, d.Service, sawGeneration(updated.UID, updated.Generation))
	return nil
}

// Delete removes the Deployment (and its pods, in the foreground) and the
// Service. A function made from a Function object goes with the object.
func (p *Provider) Delete(ctx context.Context, namespace, name string) error {
	return p.remove(ctx, namespace, name, false)
}

func (p *Provider) remove(ctx context.Context, namespace, name string, fromObject bool) error {
	if err := p.checkNamespace(ctx, namespace); err != nil {
		return err
	}
	cur, err := p.client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil && cur.Labels[LabelFunction] == "" {
		return api.NotFound("function", name)
	}
	if err == nil && !fromObject {
		if err := managedByObject(cur); err != nil {
			return err
		}
	}
	fg := metav1.DeletePropagationForeground
	if err == nil {
		err = p.client.AppsV1().Deployments(namespace).Delete(ctx, name, metav1.DeleteOptions{
			PropagationPolicy: &fg, Preconditions: &metav1.Preconditions{UID: &cur.UID}})
	}
	if apierrors.IsNotFound(err) {
		return api.NotFound("function", name)
	}
	if err != nil {
		return kerr(err, "delete deployment")
	}
	if err := p.client.CoreV1().Services(namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return kerr(err, "delete service")
	}
	p.forgetCounter(ctx, namespace, name)
	p.settle(ctx, namespace, name, sawDelete(cur.UID))
	return nil
}

// objects is Objects with this provider's settings applied.
func (p *Provider) objects(d api.FunctionDeployment, replicas int32) (*appsv1.Deployment, *corev1.Service, error) {
	dep, svc, err := Objects(d, replicas)
	if err != nil {
		return nil, nil, err
	}
	for i := range dep.Spec.Template.Spec.Containers {
		dep.Spec.Template.Spec.Containers[i].ImagePullPolicy = corev1.PullPolicy(p.cfg.ImagePullPolicy)
	}
	return dep, svc, nil
}

// List returns the functions of a namespace from the informer cache.
func (p *Provider) List(ctx context.Context, namespace string) ([]api.FunctionStatus, error) {
	if err := p.checkNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	sel, _ := labels.Parse(LabelFunction)
	deps, err := p.routes.deps.Deployments(namespace).List(sel)
	if err != nil {
		return nil, err
	}
	out := make([]api.FunctionStatus, 0, len(deps))
	for _, d := range deps {
		out = append(out, p.status(d))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns one function's status.
func (p *Provider) Get(ctx context.Context, namespace, name string) (api.FunctionStatus, error) {
	if err := p.checkNamespace(ctx, namespace); err != nil {
		return api.FunctionStatus{}, err
	}
	d, err := p.routes.deps.Deployments(namespace).Get(name)
	if err != nil || d.Labels[LabelFunction] == "" {
		return api.FunctionStatus{}, api.NotFound("function", name)
	}
	return p.status(d), nil
}

// Scale writes the Deployment's scale subresource.
func (p *Provider) Scale(ctx context.Context, namespace, name string, replicas uint64) error {
	if replicas > 1000 {
		return api.BadRequest("replicas %d is more than the limit of 1000", replicas)
	}
	sc := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: int32(replicas)},
	}
	_, err := p.client.AppsV1().Deployments(namespace).UpdateScale(ctx, name, sc, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return api.NotFound("function", name)
	}
	if err != nil {
		return kerr(err, "scale deployment")
	}
	p.settle(ctx, namespace, name, sawReplicas(int32(replicas)))
	return nil
}

// status maps a Deployment to the contract's FunctionStatus.
func (p *Provider) status(d *appsv1.Deployment) api.FunctionStatus {
	st := api.FunctionStatus{
		Name:              d.Name,
		Namespace:         d.Namespace,
		Labels:            map[string]string{},
		Annotations:       map[string]string{},
		CreatedAt:         d.CreationTimestamp.Time,
		AvailableReplicas: uint64(d.Status.AvailableReplicas),
		ReadyReplicas:     uint64(d.Status.ReadyReplicas),
	}
	if d.Spec.Replicas != nil {
		st.Replicas = uint64(*d.Spec.Replicas)
	}
	for k, v := range d.Labels {
		if k != LabelFunction {
			st.Labels[k] = v
		}
	}
	for k, v := range d.Annotations {
		if k != "deployment.kubernetes.io/revision" && k != annGeneration {
			st.Annotations[k] = v
		}
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) > 0 {
		c := spec.Containers[0]
		st.Image = c.Image
		env := map[string]string{}
		for _, e := range c.Env {
			if e.Name == "fprocess" {
				st.EnvProcess = e.Value
			} else {
				env[e.Name] = e.Value
			}
		}
		if len(env) > 0 {
			st.EnvVars = env
		}
		if c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil {
			st.ReadOnlyRootFilesystem = *c.SecurityContext.ReadOnlyRootFilesystem
		}
		st.Limits = fromList(c.Resources.Limits)
		st.Requests = fromList(c.Resources.Requests)
	}
	for _, v := range spec.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					st.Secrets = append(st.Secrets, s.Secret.Name)
				}
			}
		}
	}
	for k, v := range spec.NodeSelector {
		st.Constraints = append(st.Constraints, k+"="+v)
	}
	sort.Strings(st.Constraints)
	if r, ok := p.routes.get(d.Namespace, d.Name); ok && r.Failure != "" {
		st.Conditions = append(st.Conditions, api.Condition{Type: "Ready", Status: "False", Reason: "PodFailure", Message: r.Failure})
	} else if c, ok := rollout(d); ok {
		st.Conditions = append(st.Conditions, c)
	}
	return st
}

// rollout reports a Deployment whose pods are not all ready on its latest
// template, as `kubectl rollout status` judges it: `ferry up` waits on it.
func rollout(d *appsv1.Deployment) (api.Condition, bool) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	c := api.Condition{Type: "Ready", Status: "False", Reason: "Updating"}
	switch {
	case d.Generation > s.ObservedGeneration:
		c.Message = "the controller has not seen the new version yet"
	case s.UpdatedReplicas < want:
		c.Message = fmt.Sprintf("%d of %d replicas run the new version", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		c.Message = fmt.Sprintf("%d old replicas are stopping", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < s.UpdatedReplicas:
		c.Reason = "Starting"
		c.Message = fmt.Sprintf("%d of %d replicas available", s.AvailableReplicas, s.UpdatedReplicas)
	default:
		return api.Condition{}, false
	}
	return c, true
}

// kerr turns a Kubernetes API error into an *api.Error with a fitting status.
func kerr(err error, what string) error {
	if err == nil {
		return nil
	}
	switch {
	case apierrors.IsNotFound(err):
		return api.Errorf(http.StatusNotFound, "%s: %w", what, err)
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return api.Errorf(http.StatusConflict, "%s: %w", what, err)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return api.Errorf(http.StatusBadRequest, "%s: %w", what, err)
	case apierrors.IsForbidden(err):
		return api.Errorf(http.StatusForbidden, "%s: %w", what, err)
	}
	return api.Errorf(http.StatusBadGateway, "%s: kubernetes API: %w", what, err)
}
