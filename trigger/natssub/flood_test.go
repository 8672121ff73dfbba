package natssub

import (
	"runtime"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/trigger/triggertest"
)

// Messages wait in the subscription's buffer while the function's slots
// are busy. The buffer was bounded in messages only (1024): a publisher
// of 1 MiB messages to a slow function's subject grew ferry serve by a
// GiB (measured: RSS 37 MB to 1059 MB for 1000 messages), and more per
// subscription. The bytes are bounded too.
func TestFloodOfLargeMessagesBounded(t *testing.T) {
	env := triggertest.Start(t)
	env.Delay(3 * time.Second) // every slot busy while the flood arrives
	env.Deploy(t, "slow", map[string]string{"topic": "flood"})
	conn := embedded(t)
	start(t, env, conn())
	pub := conn()
	for deadline := time.Now().Add(10 * time.Second); len(env.Calls()) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never subscribed")
		}
		pub.Publish("flood", []byte("first"))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	body := make([]byte, pub.MaxPayload()-1024)
	for range 300 {
		if err := pub.Publish("flood", body); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // delivered into the buffer
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("300 messages of %d KiB: heap grew %d MiB", len(body)>>10, grew>>20)
	if grew > 128<<20 {
		t.Fatalf("the subscription buffered %d MiB of messages for a busy function", grew>>20)
	}
}
