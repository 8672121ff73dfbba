package kubernetes

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/ferryfaas/ferry/metrics"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Invocation totals live in the cluster, not in the gateway: Ferry keeps
// no local state on this provider, so the counts survive the deletion of
// any pod, the gateway's own included. One ConfigMap in the default
// function namespace maps "name.namespace" to the total.

// CountersConfigMap is the ConfigMap holding invocation totals.
const CountersConfigMap = "ferry-invocation-counts"

var _ metrics.CounterStore = (*Provider)(nil)

// LoadCounters reads the totals (none when the ConfigMap does not exist).
func (p *Provider) LoadCounters(ctx context.Context) (map[string]float64, error) {
	cm, err := p.client.CoreV1().ConfigMaps(p.cfg.DefaultNamespace).Get(ctx, CountersConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return map[string]float64{}, nil
	}
	if err != nil {
		return nil, kerr(err, "get configmap "+CountersConfigMap)
	}
	out := make(map[string]float64, len(cm.Data))
	for k, v := range cm.Data {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = f
		}
	}
	return out, nil
}

// SaveCounters merges the totals into the ConfigMap (one patch, no
// read-modify-write race with kubectl edits of other keys).
func (p *Provider) SaveCounters(ctx context.Context, totals map[string]float64) error {
	data := make(map[string]*string, len(totals))
	for k, v := range totals {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		data[k] = &s
	}
	return p.patchCounters(ctx, data)
}

// forgetCounter drops a deleted function's total, so that a new function
// of the same name starts from zero after the next gateway start.
func (p *Provider) forgetCounter(ctx context.Context, namespace, name string) {
	if err := p.patchCounters(ctx, map[string]*string{name + "." + namespace: nil}); err != nil {
		p.log.Debug("forget invocation count", "function", name, "err", err)
	}
}

// patchCounters merge-patches data keys (nil removes a key), creating the
// ConfigMap on first use.
func (p *Provider) patchCounters(ctx context.Context, data map[string]*string) error {
	patch, _ := json.Marshal(map[string]any{"data": data})
	cms := p.client.CoreV1().ConfigMaps(p.cfg.DefaultNamespace)
	_, err := cms.Patch(ctx, CountersConfigMap, types.MergePatchType, patch, metav1.PatchOptions{})
	if !apierrors.IsNotFound(err) {
		return kerr(err, "patch configmap "+CountersConfigMap)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: CountersConfigMap, Namespace: p.cfg.DefaultNamespace,
		Labels: map[string]string{LabelManagedBy: ManagedBy}}, Data: map[string]string{}}
	for k, v := range data {
		if v != nil {
			cm.Data[k] = *v
		}
	}
	_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) { // created meanwhile: patch it
		_, err = cms.Patch(ctx, CountersConfigMap, types.MergePatchType, patch, metav1.PatchOptions{})
	}
	return kerr(err, "create configmap "+CountersConfigMap)
}
