//go:build !linux

package process

import "errors"

func detectCgroups() *cgroupMgr {
	return &cgroupMgr{reason: "cgroups exist on Linux only"}
}

func (m *cgroupMgr) create(string, string, limits) (*cgroup, error) { return nil, nil }
func (c *cgroup) limitMemory() error                                { return nil }
func (c *cgroup) killAll()                                          {}
func (c *cgroup) remove()                                           {}
func (m *cgroupMgr) removeFunction(string)                          {}
func (m *cgroupMgr) reapStale() int                                 { return 0 }

func (m *cgroupMgr) enterThread([]string) (func() error, error) {
	return nil, errors.New("cgroups exist on Linux only")
}
