package kubernetes

import (
	"github.com/ferryfaas/ferry/api"
	corev1 "k8s.io/api/core/v1"
)

func fromList(l corev1.ResourceList) *api.Resources {
	if len(l) == 0 {
		return nil
	}
	r := &api.Resources{}
	for k, q := range l {
		switch k {
		case corev1.ResourceMemory:
			r.Memory = q.String()
		case corev1.ResourceCPU:
			r.CPU = q.String()
		default:
			if r.Extra == nil {
				r.Extra = map[string]string{}
			}
			r.Extra[string(k)] = q.String()
		}
	}
	return r
}
