//go:build linux

package watchdog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The kernel's socket diagnostics (sock_diag, NETLINK_INET_DIAG) answer
// "who owns the socket at the other end of this connection" with one
// request and no scan of /proc/net/tcp, whose size a function could grow.
const (
	netlinkInetDiag   = 4
	sockDiagByFamily  = 20
	tcpListen         = 10
	diagReqLen        = 56 // struct inet_diag_req_v2
	diagMsgLen        = 72 // struct inet_diag_msg
	diagBytecodeAttr  = 1  // INET_DIAG_REQ_BYTECODE
	diagBcSourceGE    = 2  // INET_DIAG_BC_S_GE
	diagBcSourceLE    = 3  // INET_DIAG_BC_S_LE
	nlmsgHdrLen       = 16
	nlmDump           = 0x300
	nlmsgDone         = 3
	nlmsgError        = 2
	diagRecvBufferLen = 32 << 10
)

// errNoDiag: the kernel (or a sandbox such as gVisor) offers no sock_diag.
var errNoDiag = errors.New("no socket diagnostics (NETLINK_INET_DIAG)")

// sockInfo is what sock_diag tells of one socket.
type sockInfo struct {
	uid   uint32
	inode uint32 // 0 while a connection waits in its listener's queue
}

// check checks that the socket that accepted c, a connection to a
// loopback upstream, belongs to the replica (see upstreamOwner).
func (o *upstreamOwner) check(c net.Conn) error {
	la, lok := c.LocalAddr().(*net.TCPAddr)
	ra, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok || !ra.IP.IsLoopback() {
		return nil // an upstream on another machine: nothing here to check
	}
	peer, found, err := diagPeer(la, ra)
	if errors.Is(err, errNoDiag) && !o.strict {
		if !o.warned.Swap(true) && o.log != nil {
			o.log.Warn("cannot check who accepts the upstream's connections; trusting this machine's loopback", "upstream", ra.String(), "err", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot tell who accepted the connection to %s: %w", ra, err)
	}
	if !found {
		return fmt.Errorf("the connection to %s has no peer socket", ra)
	}
	if peer.inode != 0 {
		if !o.owns(peer) {
			return fmt.Errorf("%s was accepted by a socket of uid %d that is not this replica's function", ra, peer.uid)
		}
		return nil
	}
	// Not accepted yet: it waits in the queue of a listener of the port.
	// Every listener that could have taken it must be the function's (a
	// listener that closes resets the connections in its queue, so one
	// gone since cannot receive anything).
	ls, err := diagListeners(ra.Port)
	if err != nil {
		return fmt.Errorf("cannot list the listeners of %s: %w", ra, err)
	}
	if len(ls) == 0 {
		return fmt.Errorf("nothing listens on %s", ra)
	}
	for _, l := range ls {
		if !o.owns(l) {
			return fmt.Errorf("%s has a listener of uid %d that is not this replica's function", ra, l.uid)
		}
	}
	return nil
}

// owns: with a uid of its own (isolation), every socket of that uid is the
// function's; without, the socket must be open in a process of the
// function's tree.
func (o *upstreamOwner) owns(s sockInfo) bool {
	if o.uid >= 0 {
		return s.uid == uint32(o.uid)
	}
	pid := int(o.pid.Load())
	return pid > 0 && s.inode != 0 && treeHasSocket(pid, s.inode)
}

// treeHasSocket reports whether pid or one of its descendants has the
// socket of that inode open.
func treeHasSocket(pid int, inode uint32) bool {
	want := "socket:[" + strconv.FormatUint(uint64(inode), 10) + "]"
	seen := map[int]bool{}
	todo := []int{pid}
	for len(todo) > 0 && len(seen) < 4096 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		dir := "/proc/" + strconv.Itoa(p)
		if fds, err := os.ReadDir(dir + "/fd"); err == nil {
			for _, fd := range fds {
				if l, err := os.Readlink(dir + "/fd/" + fd.Name()); err == nil && l == want {
					return true
				}
			}
		}
		tasks, _ := os.ReadDir(dir + "/task")
		for _, t := range tasks {
			b, _ := os.ReadFile(dir + "/task/" + t.Name() + "/children")
			for _, f := range strings.Fields(string(b)) {
				if k, err := strconv.Atoi(f); err == nil {
					todo = append(todo, k)
				}
			}
		}
	}
	return false
}

// diagPeer asks for the socket whose local end is ra and remote end la:
// the other side of our connection.
func diagPeer(la, ra *net.TCPAddr) (sockInfo, bool, error) {
	fam, src, ok1 := diagAddr(ra.IP)
	_, dst, ok2 := diagAddr(la.IP)
	if !ok1 || !ok2 {
		return sockInfo{}, false, errors.New("unsupported address")
	}
	req := make([]byte, nlmsgHdrLen+diagReqLen)
	r := req[nlmsgHdrLen:]
	r[0], r[1] = fam, syscall.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], ^uint32(0)) // every state
	binary.BigEndian.PutUint16(r[8:], uint16(ra.Port))
	binary.BigEndian.PutUint16(r[10:], uint16(la.Port))
	copy(r[12:28], src)
	copy(r[28:44], dst)
	binary.NativeEndian.PutUint32(r[48:], ^uint32(0)) // no cookie
	binary.NativeEndian.PutUint32(r[52:], ^uint32(0))
	var out []sockInfo
	err := diagRequest(req, 0, func(s sockInfo) { out = append(out, s) })
	if errors.Is(err, syscall.ENOENT) || len(out) == 0 {
		return sockInfo{}, false, nil
	}
	if err != nil {
		return sockInfo{}, false, err
	}
	return out[0], true, nil
}

// diagListeners lists the TCP listeners (IPv4 and IPv6: a dual-stack one
// takes IPv4 connections too) of a local port.
func diagListeners(port int) ([]sockInfo, error) {
	var out []sockInfo
	for _, fam := range []byte{syscall.AF_INET, syscall.AF_INET6} {
		req := make([]byte, nlmsgHdrLen+diagReqLen+4+16)
		r := req[nlmsgHdrLen:]
		r[0], r[1] = fam, syscall.IPPROTO_TCP
		binary.NativeEndian.PutUint32(r[4:], 1<<tcpListen)
		// Filter in the kernel: source port >= port and <= port.
		a := r[diagReqLen:]
		binary.NativeEndian.PutUint16(a[0:], 4+16)
		binary.NativeEndian.PutUint16(a[2:], diagBytecodeAttr)
		bc := a[4:]
		bc[0], bc[1] = diagBcSourceGE, 8
		binary.NativeEndian.PutUint16(bc[2:], 20) // past the end: reject
		binary.NativeEndian.PutUint16(bc[6:], uint16(port))
		bc[8], bc[9] = diagBcSourceLE, 8
		binary.NativeEndian.PutUint16(bc[10:], 12)
		binary.NativeEndian.PutUint16(bc[14:], uint16(port))
		if err := diagRequest(req, nlmDump, func(s sockInfo) { out = append(out, s) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func diagAddr(ip net.IP) (family byte, addr []byte, ok bool) {
	if v4 := ip.To4(); v4 != nil {
		return syscall.AF_INET, v4, true
	}
	if v6 := ip.To16(); v6 != nil {
		return syscall.AF_INET6, v6, true
	}
	return 0, nil, false
}

// diag is one netlink socket kept for the watchdog's life (opening one
// per check costs about as much as the check), used by one request at a
// time.
var diag struct {
	sync.Mutex
	fd  int // 0: not open
	seq uint32
	buf []byte
}

// diagRequest sends one sock_diag request (its header is filled here) and
// calls each for every socket in the answer.
func diagRequest(req []byte, flags uint16, each func(sockInfo)) error {
	diag.Lock()
	defer diag.Unlock()
	if diag.fd == 0 {
		fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkInetDiag)
		if err != nil {
			return fmt.Errorf("%w: %w", errNoDiag, err)
		}
		diag.fd, diag.buf = fd, make([]byte, diagRecvBufferLen)
	}
	err := diagExchange(req, flags, each)
	if err != nil && !errors.Is(err, syscall.ENOENT) {
		// Out of step (or broken): a fresh socket for the next request.
		syscall.Close(diag.fd)
		diag.fd = 0
	}
	return err
}

func diagExchange(req []byte, flags uint16, each func(sockInfo)) error {
	diag.seq++
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(req[6:], syscall.NLM_F_REQUEST|flags)
	binary.NativeEndian.PutUint32(req[8:], diag.seq)
	if err := syscall.Sendto(diag.fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return err
	}
	for {
		n, _, err := syscall.Recvfrom(diag.fd, diag.buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(diag.buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq != diag.seq {
				continue // the rest of an answer given up on
			}
			switch m.Header.Type {
			case nlmsgDone:
				return nil
			case nlmsgError:
				if len(m.Data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
						return syscall.Errno(-e)
					}
				}
				return nil
			case sockDiagByFamily:
				if len(m.Data) >= diagMsgLen {
					each(sockInfo{uid: binary.NativeEndian.Uint32(m.Data[64:]),
						inode: binary.NativeEndian.Uint32(m.Data[68:])})
				}
				if flags&nlmDump == 0 {
					return nil // a single answer
				}
			}
		}
	}
}
