package hall

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkFanout measures one event fanned out to every connection of a
// room and read by real loopback clients: ns/op is one tick, ns/frame one
// event frame, and B/conn the memory (heap and stacks, hall and client
// together) each connection holds.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, n int) {
	h, err := New(Options{Period: time.Hour, Rooms: []RoomSpec{{ID: "room-1"}}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	defer h.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/room-1/events"

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := websocket.Dialer{ReadBufferSize: 512, WriteBufferSize: 512}
	readers := make(chan struct{}, n)
	for i := range n {
		ws, _, err := d.Dial(url, nil)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		defer ws.Close()
		if err := ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"join","participant":"p-%d"}`, i)); err != nil {
			b.Fatal(err)
		}
		go func() {
			defer func() { readers <- struct{}{} }()
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	r := h.Room("room-1")
	deadline := time.Now().Add(10 * time.Second)
	for r.Conns() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the joins are in
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)

	b.ResetTimer()
	for i := range b.N {
		r.tick()
		// Keep the outboxes short: wait for all but the last 32 ticks.
		for lag := uint64(32 * n); r.EventsSent()+lag < uint64(i+1)*uint64(n); {
			runtime.Gosched()
		}
	}
	for want := uint64(b.N) * uint64(n); r.EventsSent() < want; {
		runtime.Gosched()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/frame")
	mem := float64(after.HeapInuse+after.StackInuse) - float64(before.HeapInuse+before.StackInuse)
	b.ReportMetric(mem/float64(n), "B/conn")
	b.ReportMetric(float64(runtime.NumCPU()), "cpus")
	h.Close()
	for range n {
		<-readers
	}
}
