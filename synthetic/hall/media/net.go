package media

import (
	"net"
	"sync/atomic"

	"github.com/pion/transport/v5"
)

// killNet is the network a room's PeerConnections open their sockets on: the
// underlying network, with every UDP socket able to go silent both ways while
// the room's kill flag is up. Dropping inbound alone would not do: pion (like
// every ICE agent) treats any packet from the peer, media included, as a sign
// of life, so the peer only sees ICE disconnected when nothing arrives.
type killNet struct {
	transport.Net
	kill *atomic.Bool
}

func (n killNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &killConn{UDPConn: c, kill: n.kill}, nil
}

func (n killNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return &killPacketConn{PacketConn: c, kill: n.kill}, nil
}

// killConn embeds the interface, not a concrete *net.UDPConn, so no method of
// the socket that bypasses the filter is promoted.
type killConn struct {
	transport.UDPConn
	kill *atomic.Bool
}

func (c *killConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.kill.Load() {
			return n, addr, err
		}
	}
}

func (c *killConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(b)
		if err != nil || !c.kill.Load() {
			return n, addr, err
		}
	}
}

func (c *killConn) Read(b []byte) (int, error) {
	for {
		n, err := c.UDPConn.Read(b)
		if err != nil || !c.kill.Load() {
			return n, err
		}
	}
}

func (c *killConn) ReadMsgUDP(b, oob []byte) (int, int, int, *net.UDPAddr, error) {
	for {
		n, oobn, flags, addr, err := c.UDPConn.ReadMsgUDP(b, oob)
		if err != nil || !c.kill.Load() {
			return n, oobn, flags, addr, err
		}
	}
}

func (c *killConn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (int, int, error) {
	if c.kill.Load() {
		return len(b), len(oob), nil
	}
	return c.UDPConn.WriteMsgUDP(b, oob, addr)
}

func (c *killConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.kill.Load() {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *killConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	if c.kill.Load() {
		return len(b), nil
	}
	return c.UDPConn.WriteToUDP(b, addr)
}

func (c *killConn) Write(b []byte) (int, error) {
	if c.kill.Load() {
		return len(b), nil
	}
	return c.UDPConn.Write(b)
}

type killPacketConn struct {
	net.PacketConn
	kill *atomic.Bool
}

func (c *killPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.kill.Load() {
			return n, addr, err
		}
	}
}

func (c *killPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.kill.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}
