package workcount

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/authgate/authgate/store/bolt/bolttest"
)

func TestStoreCountsByMethodAndPrefix(t *testing.T) {
	w := &Work{}
	st := &Store{Store: bolttest.Open(t), W: w}
	ctx := context.Background()
	if err := st.Put(ctx, "sia:1", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "sia:2"); err == nil {
		t.Fatal("Get of an absent key succeeded")
	}
	if err := st.Delete(ctx, "code:1", "code:2"); err != nil {
		t.Fatal(err)
	}
	w.Add("deliver")
	want := map[string]int{"Put sia": 1, "Get sia": 1, "Delete code": 2, "deliver": 1}
	got := w.Take()
	if !maps.Equal(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	if n := Calls(got, "Delete"); n != 2 {
		t.Fatalf("Calls(Delete) = %d, want 2", n)
	}
	if again := w.Take(); len(again) != 0 {
		t.Fatalf("Take did not start over: %v", again)
	}
}
