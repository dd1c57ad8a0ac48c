package web

import (
	"io"
	"net"
	"sync"
	"time"
)

// How long and how much a closed connection may still be read and
// discarded; see LingeringListener. The byte bound is above the largest
// request the server accepts (an attachment, 25 MiB by default), so a
// client refused in the middle of an upload still reads its 413.
const (
	lingerFor   = 5 * time.Second
	lingerBytes = 32 << 20
)

// LingeringListener wraps ln so that closing a connection first closes
// only its write half and reads what the client is still sending, as
// nginx's lingering_close does.
//
// Why: fasthttp refuses a request it will not read (a 1 MiB URL beyond the
// 16 KiB header buffer, a body over the limit) by writing its 431 or 413
// and closing at once. Closing a socket with unread bytes makes the kernel
// send a reset, and a client still writing its request sees "connection
// reset" instead of the problem document already on its way; Go's
// http.Client did in 8 of 10 tries on a 1 MiB URL. Draining until the
// client closes (bounded by lingerFor and lingerBytes) lets the answer
// arrive.
func LingeringListener(ln net.Listener) net.Listener {
	return lingeringListener{ln}
}

type lingeringListener struct{ net.Listener }

func (l lingeringListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	return &lingeringConn{TCPConn: tc}, nil
}

type lingeringConn struct {
	*net.TCPConn
	once sync.Once
	err  error
}

// Close sends the server's FIN at once and releases the socket once the
// client has closed its half, or lingerFor or lingerBytes has passed.
func (c *lingeringConn) Close() error {
	c.once.Do(func() {
		if err := c.TCPConn.CloseWrite(); err != nil {
			// The peer is gone already: nothing to drain.
			c.err = c.TCPConn.Close()
			return
		}
		go func() {
			_ = c.TCPConn.SetReadDeadline(time.Now().Add(lingerFor))
			_, _ = io.CopyN(io.Discard, c.TCPConn, lingerBytes)
			_ = c.TCPConn.Close()
		}()
	})
	return c.err
}
