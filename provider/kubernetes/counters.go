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
	out, _, err := p.readCounters(ctx)
	if err != nil {
		return nil, err
	}
	p.counterMu.Lock()
	p.counterSaved = map[string]float64{}
	for k, v := range out {
		p.counterSaved[k] = v
	}
	p.counterMu.Unlock()
	return out, nil
}

func (p *Provider) readCounters(ctx context.Context) (map[string]float64, *corev1.ConfigMap, error) {
	cm, err := p.client.CoreV1().ConfigMaps(p.cfg.DefaultNamespace).Get(ctx, CountersConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return map[string]float64{}, nil, nil
	}
	if err != nil {
		return nil, nil, kerr(err, "get configmap "+CountersConfigMap)
	}
	out := make(map[string]float64, len(cm.Data))
	for k, v := range cm.Data {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = f
		}
	}
	return out, cm, nil
}

var _ metrics.SharedCounterStore = (*Provider)(nil)

// SaveCounters adds what this gateway counted since its last save to the
// ConfigMap's totals (see AddCounters).
func (p *Provider) SaveCounters(ctx context.Context, totals map[string]float64) error {
	p.counterMu.Lock()
	defer p.counterMu.Unlock()
	if p.counterSaved == nil {
		p.counterSaved = map[string]float64{}
	}
	delta := map[string]float64{}
	for k, v := range totals {
		if d := v - p.counterSaved[k]; d != 0 {
			delta[k] = d
		}
	}
	if len(delta) == 0 {
		return nil
	}
	if _, err := p.AddCounters(ctx, delta); err != nil {
		return err
	}
	for k := range delta {
		p.counterSaved[k] = totals[k]
	}
	return nil
}

// AddCounters adds increments to the ConfigMap's totals with optimistic
// concurrency, so that gateways writing at once (several replicas, or a
// rolling update) add up instead of overwriting each other, and returns
// every total: the other gateways' counts included.
func (p *Provider) AddCounters(ctx context.Context, delta map[string]float64) (map[string]float64, error) {
	cms := p.client.CoreV1().ConfigMaps(p.cfg.DefaultNamespace)
	var err error
	for try := 0; try < 10; try++ {
		var cur map[string]float64
		var cm *corev1.ConfigMap
		if cur, cm, err = p.readCounters(ctx); err != nil {
			return nil, err
		}
		if len(delta) == 0 {
			return cur, nil
		}
		data := map[string]string{}
		if cm != nil {
			for k, v := range cm.Data {
				data[k] = v
			}
		}
		for k, d := range delta {
			cur[k] += d
			data[k] = strconv.FormatFloat(cur[k], 'f', -1, 64)
		}
		if cm == nil {
			_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: CountersConfigMap, Namespace: p.cfg.DefaultNamespace,
				Labels: map[string]string{LabelManagedBy: ManagedBy}}, Data: data}, metav1.CreateOptions{})
		} else {
			cm = cm.DeepCopy()
			cm.Data = data
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		if err == nil {
			return cur, nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			break
		}
	}
	return nil, kerr(err, "update configmap "+CountersConfigMap)
}

// forgetCounter drops a deleted function's total, so that a new function
// of the same name starts from zero after the next gateway start.
func (p *Provider) forgetCounter(ctx context.Context, namespace, name string) {
	key := name + "." + namespace
	patch, _ := json.Marshal(map[string]any{"data": map[string]*string{key: nil}})
	_, err := p.client.CoreV1().ConfigMaps(p.cfg.DefaultNamespace).Patch(ctx, CountersConfigMap, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		p.log.Debug("forget invocation count", "function", key, "err", err)
	}
}
