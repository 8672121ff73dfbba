package cli

import (
	"errors"
	"net"
	"sync"
)

// joinListeners accepts from every listener as one: the gateway's front
// serves --listen and the addresses runtimes add (Server.ExtraListeners).
func joinListeners(first net.Listener, more ...net.Listener) net.Listener {
	if len(more) == 0 {
		return first
	}
	j := &joined{lns: append([]net.Listener{first}, more...), conns: make(chan accepted), done: make(chan struct{})}
	for _, ln := range j.lns {
		go j.accept(ln)
	}
	return j
}

type accepted struct {
	c   net.Conn
	err error
}

type joined struct {
	lns   []net.Listener
	conns chan accepted
	done  chan struct{}
	once  sync.Once
}

func (j *joined) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		select {
		case j.conns <- accepted{c, err}:
		case <-j.done:
			if c != nil {
				c.Close()
			}
			return
		}
		// Other errors (EMFILE) are the caller's to back off from.
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

func (j *joined) Accept() (net.Conn, error) {
	select {
	case a := <-j.conns:
		return a.c, a.err
	case <-j.done:
		return nil, net.ErrClosed
	}
}

// Close closes every listener.
func (j *joined) Close() error {
	var errs []error
	j.once.Do(func() {
		close(j.done)
		for _, ln := range j.lns {
			errs = append(errs, ln.Close())
		}
	})
	return errors.Join(errs...)
}

func (j *joined) Addr() net.Addr { return j.lns[0].Addr() }
