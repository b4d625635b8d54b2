package main

import (
	"context"
	"io"
)

// runTestee runs the Go reference client as a testee of the client contract
// (testees/CLIENT-CONTRACT.md). Placeholder until reference/testee lands.
func runTestee(_ context.Context, _ []string, _, _ io.Writer) int {
	return 127
}
