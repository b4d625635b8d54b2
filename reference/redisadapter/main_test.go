package redisadapter

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: Close
// must stop the adapters' readers and publishers and the Redis clients.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
